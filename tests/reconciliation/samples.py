"""Small statement files in each supported format."""

CANONICAL = (
    "external_id,account,amount,currency,value_date,counterparty,reference,description\n"
    "TX-1,GB00000001,100.00,GBP,2026-03-02,Ann Lee,INV-1,first\n"
    "TX-2,GB00000002,250.50,GBP,2026-03-03,Bob Stone,,cash\n"
    "TX-3,GB00000003,-40.00,GBP,2026-03-03,Shop,,debit\n"
)

CAMT053 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG1</MsgId><CreDtTm>2026-03-04T08:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-1</Id>
   <Acct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%(closing)s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-03</Dt></Dt></Bal>
   <TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>150.00</Sum></TtlNtries></TxsSummry>
   <Ntry>
    <NtryRef>E1</NtryRef><Amt Ccy="EUR">120.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-03-02</Dt></BookgDt><ValDt><Dt>2026-03-02</Dt></ValDt>
    <AcctSvcrRef>BANK-REF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>E2E-1</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Ann Lee</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>Deposit slip 1</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <NtryRef>E2</NtryRef><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-03-03</Dt></BookgDt><ValDt><Dt>2026-03-03</Dt></ValDt>
    <AcctSvcrRef>BANK-REF-2</AcctSvcrRef>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""

MT940 = """:20:STMT0001
:25:12345678/0001
:28C:1/1
:60F:C260301EUR1000,00
:61:2603020302C120,00NTRFREF-A//BREF-1
:86:Ann Lee deposit
:61:2603030303D30,00NTRFNONREF//BREF-2
:86:Card fee
:62F:C260303EUR%(closing)s
"""

OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20260304080000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>121000248<ACCTID>555001<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260301<DTEND>20260304
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20260302120000<TRNAMT>75.25<FITID>FIT-1<NAME>Ann Lee<MEMO>Deposit</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260303120000<TRNAMT>-10.00<FITID>FIT-2<NAME>Bank fee</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>1065.25<DTASOF>20260304</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""
