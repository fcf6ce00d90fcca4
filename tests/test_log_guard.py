import logging

from tests import log_guard


def test_the_guard_finds_a_registered_value_in_a_log_record():
    keeper = log_guard.RecordKeeper()
    logger = logging.getLogger("tests.guard")
    logger.addHandler(keeper)
    logger.propagate = False  # keep these planted leaks out of the run's own guard
    try:
        logger.warning("customer %s called", "GB12345678")
        logger.warning("key od_%s", "x" * 30)
    finally:
        logger.removeHandler(keeper)
        logger.propagate = True
    saved = log_guard.KEEPER.messages
    log_guard.KEEPER.messages = keeper.messages
    log_guard.sensitive("GB12345678")
    try:
        found = log_guard.leaks()
    finally:
        log_guard.KEEPER.messages = saved
        log_guard.SENSITIVE.discard("GB12345678")

    assert len(found) == 2
    assert "GB12345678" in found[0]
