from .factories import DepositFactory


def test_deposits_are_read_only_in_the_admin(client, admin_user, branch):
    deposit = DepositFactory(branch=branch)
    client.force_login(admin_user)

    listing = client.get("/admin/deposits/deposit/")
    page = client.get(f"/admin/deposits/deposit/{deposit.pk}/change/")
    add = client.get("/admin/deposits/deposit/add/")
    delete = client.post(
        f"/admin/deposits/deposit/{deposit.pk}/delete/", {"post": "yes"}
    )

    assert listing.status_code == 200
    assert deposit.receipt_number in listing.content.decode()
    assert page.status_code == 200
    assert b'name="amount"' not in page.content
    assert add.status_code == 403
    assert delete.status_code == 403
    assert type(deposit).objects.filter(pk=deposit.pk).exists()
