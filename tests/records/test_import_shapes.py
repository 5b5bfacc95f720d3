"""Files from the tools people leave: the contact exports of Google Contacts, Outlook, LinkedIn,
HubSpot, Salesforce and Pipedrive, and vCard files (Apple, iCloud), each built here from the
format's documented headers and imported as people and as leads."""

import csv
import io

import pytest

from salesline.accounts import services as accounts
from salesline.process import services as process_services
from salesline.records.importing import services as imports
from salesline.records.models import Lead, Person

# ------------------------------------------------------------------ the documented headers


def columns(first_line: str) -> list[str]:
    """A header as the export's first line has it."""
    return next(csv.reader([first_line]))


GOOGLE = columns(
    "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,"
    "Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,"
    "Organization Title,Organization Department,Birthday,Notes,Photo,Labels,E-mail 1 - Label,"
    "E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value,"
    "Phone 2 - Label,Phone 2 - Value,Address 1 - Label,Address 1 - Formatted,Address 1 - Street,"
    "Address 1 - City,Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,"
    "Address 1 - Country,Address 1 - Extended Address,Website 1 - Label,Website 1 - Value"
)
GOOGLE_OLD = columns(
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,"
    "Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,"
    "Gender,Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,"
    "Priority,Subject,Notes,Group Membership,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,"
    "E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,"
    "Organization 1 - Type,Organization 1 - Name,Organization 1 - Yomi Name,"
    "Organization 1 - Title,Organization 1 - Department,Organization 1 - Symbol,"
    "Organization 1 - Location,Organization 1 - Job Description,Website 1 - Type,"
    "Website 1 - Value"
)
OUTLOOK = columns(
    "First Name,Middle Name,Last Name,Title,Suffix,Initials,Web Page,Gender,Birthday,"
    "Anniversary,Location,Language,Internet Free Busy,Notes,E-mail Address,E-mail 2 Address,"
    "E-mail 3 Address,Primary Phone,Home Phone,Home Phone 2,Mobile Phone,Pager,Home Fax,"
    "Home Address,Home Street,Home Street 2,Home Street 3,Home Address PO Box,Home City,"
    "Home State,Home Postal Code,Home Country,Spouse,Children,Manager's Name,Assistant's Name,"
    "Referred By,Company Main Phone,Business Phone,Business Phone 2,Business Fax,"
    "Assistant's Phone,Company,Job Title,Department,Office Location,Organizational ID Number,"
    "Profession,Account,Business Address,Business Street,Business Street 2,Business Street 3,"
    "Business Address PO Box,Business City,Business State,Business Postal Code,Business Country,"
    "Other Phone,Other Fax,Other Address,Other Street,Other Street 2,Other Street 3,"
    "Other Address PO Box,Other City,Other State,Other Postal Code,Other Country,Callback,"
    "Car Phone,ISDN,Radio Phone,TTY/TDD Phone,Telex,User 1,User 2,User 3,User 4,Keywords,"
    "Mileage,Hobby,Billing Information,Directory Server,Sensitivity,Priority,Private,Categories"
)
LINKEDIN = columns("First Name,Last Name,URL,Email Address,Company,Position,Connected On")
HUBSPOT = columns(
    "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name,"
    "Associated Company,Job Title,Website URL,Lifecycle Stage,Lead Status,Contact owner,"
    "Create Date,Last Activity Date"
)
SALESFORCE_CONTACTS = columns(
    "Salutation,First Name,Last Name,Title,Account Name,Mailing Street,Mailing City,"
    "Mailing State/Province,Mailing Zip/Postal Code,Mailing Country,Phone,Mobile,Home Phone,"
    "Other Phone,Fax,Email,Lead Source,Contact Owner,Contact ID"
)
SALESFORCE_LEADS = columns(
    "Salutation,First Name,Last Name,Title,Company / Account,Street,City,State/Province,"
    "Zip/Postal Code,Country,Phone,Mobile,Email,Website,Lead Source,Lead Status,Lead Owner"
)
PIPEDRIVE = columns(
    "Person - Name,Person - First name,Person - Last name,Person - Label,Person - Organization,"
    "Person - Email - Work,Person - Email - Home,Person - Email - Other,Person - Phone - Work,"
    "Person - Phone - Home,Person - Phone - Mobile,Person - Phone - Other,Person - Job title,"
    "Person - Owner,Person - Open deals,Person - Person created"
)

OWNER_NAME = "Ola Nordmann"


def table(header, *rows) -> bytes:
    """A CSV file of `header` and rows given as {column: value} (the rest empty)."""
    for row in rows:
        assert set(row) <= set(header), set(row) - set(header)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue().encode()


def expect(name, email, phone, company, title, linkedin="", details=(), absent=()):
    return {
        "name": name,
        "email": email,
        "phone": phone,
        "company": company,
        "title": title,
        "linkedin": linkedin,
        "details": details,
        "absent": absent,
    }


ANN_LINKEDIN = "https://www.linkedin.com/in/annberg"


def google():
    data = table(
        GOOGLE,
        {
            "First Name": "Ann",
            "Middle Name": "Marie",
            "Last Name": "Berg",
            "Name Prefix": "Dr.",
            "Organization Name": "Piql AS",
            "Organization Title": "Head of Sales",
            "Notes": "Met at Nor-Shipping",
            "Labels": "* myContacts ::: Clients",
            "E-mail 1 - Label": "* Work",
            "E-mail 1 - Value": "ann@piql.com",
            "E-mail 2 - Label": "Home",
            "E-mail 2 - Value": "Ann.Berg@gmail.com",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+47 912 34 567",
            "Phone 2 - Label": "Work",
            "Phone 2 - Value": "020 7946 0018",
            "Address 1 - Formatted": "Storgata 1, 0155 Oslo",
            "Website 1 - Label": "Profile",
            "Website 1 - Value": ANN_LINKEDIN,
        },
        {
            # Google puts several values of one label in one cell.
            "First Name": "Bo",
            "Last Name": "Li",
            "Organization Name": "Lund AB",
            "Organization Title": "CTO",
            "E-mail 1 - Label": "* Other",
            "E-mail 1 - Value": "bo@lund.se ::: bo.li@gmail.com",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+46 70 123 45 67",
            "Website 1 - Value": "https://lund.se",
        },
    )
    return data, [
        expect(
            "Ann Marie Berg",
            "ann@piql.com",
            "+4791234567",
            "Piql AS",
            "Head of Sales",
            ANN_LINKEDIN,
            details=(
                "Met at Nor-Shipping",
                "E-mail: ann.berg@gmail.com",
                "Phone: +442079460018",
                "Address: Storgata 1, 0155 Oslo",
            ),
        ),
        expect(
            "Bo Li",
            "bo@lund.se",
            "+46701234567",
            "Lund AB",
            "CTO",
            details=("E-mail: bo.li@gmail.com", "Website: https://lund.se"),
        ),
    ]


def google_old():
    data = table(
        GOOGLE_OLD,
        {
            "Name": "Ann Berg",
            "Given Name": "Ann",
            "Family Name": "Berg",
            "Occupation": "Sales",
            "Group Membership": "* My Contacts",
            "E-mail 1 - Type": "* Work",
            "E-mail 1 - Value": "ann@piql.com",
            "E-mail 2 - Type": "Home",
            "E-mail 2 - Value": "ann.berg@gmail.com",
            "Phone 1 - Type": "Work",
            "Phone 1 - Value": "020 7946 0018",
            "Phone 2 - Type": "Mobile",
            "Phone 2 - Value": "+47 912 34 567",
            "Organization 1 - Type": "Work",
            "Organization 1 - Name": "Piql AS",
            "Organization 1 - Title": "Head of Sales",
            "Website 1 - Type": "Profile",
            "Website 1 - Value": ANN_LINKEDIN,
        },
        {
            "Given Name": "Bo",
            "Family Name": "Li",
            "E-mail 1 - Value": "bo@lund.se",
            "Organization 1 - Name": "Lund AB",
            "Organization 1 - Title": "CTO",
            "Phone 1 - Value": "+46 70 123 45 67",
        },
    )
    return data, [
        expect(
            "Ann Berg",
            "ann@piql.com",
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            ANN_LINKEDIN,
            details=("E-mail: ann.berg@gmail.com", "Phone: +4791234567"),
            absent=("Title: Sales",),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO"),
    ]


def outlook():
    data = table(
        OUTLOOK,
        {
            "First Name": "Cy",
            "Last Name": "Dahl",
            "Title": "Mr.",  # Outlook's Title is the form of address; Job Title is the title
            "Web Page": "https://www.linkedin.com/in/cydahl",
            "Notes": "Wants a demo",
            "E-mail Address": "cy@dahl.no",
            "E-mail 2 Address": "cy.dahl@gmail.com",
            "Mobile Phone": "+47 912 34 567",
            "Company Main Phone": "+47 22 12 34 56",
            "Business Phone": "020 7946 0018",
            "Company": "Dahl AS",
            "Job Title": "Buyer",
            "Account": "ACC-7",
            "Business Fax": "020 7946 0099",
        },
        {
            "First Name": "Di",
            "Middle Name": "K.",
            "Last Name": "Ek",
            "E-mail Address": "di@ek.se",
            "Mobile Phone": "+46 70 123 45 67",
            "Company": "Ek AB",
            "Job Title": "Owner",
        },
    )
    return data, [
        expect(
            "Cy Dahl",
            "cy@dahl.no",
            "+442079460018",
            "Dahl AS",
            "Buyer",
            "https://www.linkedin.com/in/cydahl",
            details=(
                "Wants a demo",
                "E-mail: cy.dahl@gmail.com",
                "Phone: +4791234567",
                "Phone: +4722123456",
            ),
            absent=("Mr.", "ACC-7", "+442079460099"),
        ),
        expect("Di K. Ek", "di@ek.se", "+46701234567", "Ek AB", "Owner"),
    ]


LINKEDIN_NOTES = (
    "Notes:\r\n"
    '"Connections who hide their e-mail address from their network have none below, '
    'as the export explains here."\r\n'
    "\r\n"
)


def linkedin():
    data = LINKEDIN_NOTES.encode() + table(
        LINKEDIN,
        {
            "First Name": "Ann",
            "Last Name": "Berg",
            "URL": ANN_LINKEDIN,
            "Email Address": "ann@piql.com",
            "Company": "Piql AS",
            "Position": "Head of Sales",
            "Connected On": "01 Mar 2024",
        },
        {
            "First Name": "Bo",
            "Last Name": "Li",
            "URL": "https://www.linkedin.com/in/boli",
            "Email Address": "bo@lund.se",
            "Company": "Lund AB",
            "Position": "CTO",
            "Connected On": "12 Jan 2023",
        },
        {  # no e-mail: the minimum fields reject it, naming the field
            "First Name": "Cy",
            "Last Name": "Dahl",
            "URL": "https://www.linkedin.com/in/cydahl",
            "Company": "Dahl AS",
            "Position": "Buyer",
        },
    )
    return data, [
        expect("Ann Berg", "ann@piql.com", "", "Piql AS", "Head of Sales", ANN_LINKEDIN),
        expect("Bo Li", "bo@lund.se", "", "Lund AB", "CTO", "https://www.linkedin.com/in/boli"),
    ]


def hubspot():
    data = table(
        HUBSPOT,
        {
            "Record ID": "5101",
            "First Name": "Ann",
            "Last Name": "Berg",
            "Email": "ann@piql.com",
            "Phone Number": "020 7946 0018",
            "Mobile Phone Number": "+47 912 34 567",
            "Company Name": "Piql AS",
            "Associated Company": "Piql Group",
            "Job Title": "Head of Sales",
            "Website URL": "https://piql.com",
            "Lifecycle Stage": "Lead",
            "Contact owner": "Somebody Else",
        },
        {
            "Record ID": "5102",
            "First Name": "Bo",
            "Last Name": "Li",
            "Email": "bo@lund.se",
            "Mobile Phone Number": "+46 70 123 45 67",
            "Company Name": "Lund AB",
            "Job Title": "CTO",
        },
    )
    return data, [
        expect(
            "Ann Berg",
            "ann@piql.com",
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            details=("Phone: +4791234567", "Website: https://piql.com"),
            absent=("Piql Group",),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO"),
    ]


def salesforce_contacts():
    data = table(
        SALESFORCE_CONTACTS,
        {
            "Salutation": "Ms.",
            "First Name": "Ann",
            "Last Name": "Berg",
            "Title": "Head of Sales",
            "Account Name": "Piql AS",
            "Mailing City": "Oslo",
            "Phone": "020 7946 0018",
            "Mobile": "+47 912 34 567",
            "Email": "ann@piql.com",
            "Contact Owner": OWNER_NAME,
            "Contact ID": "0035g00000XyZ",
        },
        {
            "First Name": "Bo",
            "Last Name": "Li",
            "Title": "CTO",
            "Account Name": "Lund AB",
            "Mobile": "+46 70 123 45 67",
            "Home Phone": "+46 8 123 456 78",
            "Email": "bo@lund.se",
        },
    )
    return data, [
        expect(
            "Ann Berg",
            "ann@piql.com",
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            details=("Phone: +4791234567",),
            absent=("Ms.",),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO", details=("+46812345678",)),
    ]


def salesforce_leads():
    data = table(
        SALESFORCE_LEADS,
        {
            "Salutation": "Ms.",
            "First Name": "Ann",
            "Last Name": "Berg",
            "Title": "Head of Sales",
            "Company / Account": "Piql AS",
            "City": "Oslo",
            "Phone": "020 7946 0018",
            "Mobile": "+47 912 34 567",
            "Email": "ann@piql.com",
            "Website": ANN_LINKEDIN,
            "Lead Source": "Web",
            "Lead Status": "Open",
            "Lead Owner": OWNER_NAME,  # another CRM's owner is a name: a member's resolves
        },
        {
            "First Name": "Bo",
            "Last Name": "Li",
            "Title": "CTO",
            "Company / Account": "Lund AB",
            "Phone": "+46 70 123 45 67",
            "Email": "bo@lund.se",
            "Lead Owner": OWNER_NAME.upper(),
        },
    )
    return data, [
        expect(
            "Ann Berg",
            "ann@piql.com",
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            ANN_LINKEDIN,
            details=("Phone: +4791234567",),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO"),
    ]


def pipedrive():
    data = table(
        PIPEDRIVE,
        {
            "Person - Name": "Ann Berg",
            "Person - First name": "Ann",
            "Person - Last name": "Berg",
            "Person - Label": "Hot lead",
            "Person - Organization": "Piql AS",
            "Person - Email - Home": "ann.berg@gmail.com",
            "Person - Email - Work": "ann@piql.com",
            "Person - Phone - Mobile": "+47 912 34 567",
            "Person - Phone - Work": "020 7946 0018",
            "Person - Job title": "Head of Sales",
            "Person - Owner": "Somebody Else",
            "Person - Open deals": "2",
        },
        {
            "Person - Name": "Bo Li",
            "Person - Organization": "Lund AB",
            "Person - Email - Other": "bo@lund.se",
            "Person - Phone - Home": "+46 70 123 45 67",
            "Person - Job title": "CTO",
        },
    )
    return data, [
        expect(
            "Ann Berg",
            "ann@piql.com",  # work before home, whatever the column order
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            details=("E-mail: ann.berg@gmail.com", "Phone: +4791234567"),
            absent=("Hot lead",),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO"),
    ]


APPLE_PHOTO = (
    "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 30 + "\r\n" + (" " + "QUJD" * 18 + "\r\n") * 5
)


def apple_vcard():
    """vCard 3.0 as Apple Contacts and iCloud export it: grouped properties with labels, a
    photo, a LinkedIn profile kept apart."""
    data = (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "PRODID:-//Apple Inc.//macOS 14.0//EN\r\n"
        "N:Berg;Ann;Marie;Dr.;\r\n"
        "FN:Ann Marie Berg\r\n"
        "ORG:Piql AS;Sales;\r\n"
        "TITLE:Head of Sales\r\n"
        "EMAIL;type=INTERNET;type=HOME:Ann.Berg@gmail.com\r\n"
        "EMAIL;type=INTERNET;type=WORK;type=pref:ann@piql.com\r\n"
        "TEL;type=HOME;type=VOICE:+47 22 12 34 56\r\n"
        "TEL;type=CELL;type=VOICE:+47 912 34 567\r\n"
        "TEL;type=WORK;type=VOICE;type=pref:020 7946 0018\r\n"
        "TEL;type=WORK;type=FAX:020 7946 0099\r\n"
        "item1.ADR;type=WORK;type=pref:;;Storgata 1;Oslo;;0155;Norway\r\n"
        "item1.X-ABADR:no\r\n"
        "item2.URL;type=pref:https://piql.com\r\n"
        "item2.X-ABLabel:_$!<HomePage>!$_\r\n"
        f"X-SOCIALPROFILE;type=linkedin:{ANN_LINKEDIN}\r\n"
        "NOTE:Met at Nor-Shipping\\, keen on\r\n"
        "  archiving\r\n"
        f"{APPLE_PHOTO}"
        "END:VCARD\r\n"
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "N:Li;Bo;;;\r\n"
        "FN:Bo Li\r\n"
        "ORG:Lund AB;\r\n"
        "TITLE:CTO\r\n"
        "EMAIL;type=INTERNET;type=WORK;type=pref:bo@lund.se\r\n"
        "TEL;type=CELL;type=VOICE;type=pref:+46 70 123 45 67\r\n"
        "END:VCARD\r\n"
    ).encode()
    return data, [
        expect(
            "Ann Marie Berg",
            "ann@piql.com",
            "+442079460018",
            "Piql AS",
            "Head of Sales",
            ANN_LINKEDIN,
            details=(
                "Met at Nor-Shipping, keen on archiving",
                "E-mail: ann.berg@gmail.com",
                "Phone: +4791234567",
                "Phone: +4722123456",
                "Address: Storgata 1, Oslo, 0155, Norway",
                "Website: https://piql.com",
            ),
            absent=("+442079460099", "QUJD"),
        ),
        expect("Bo Li", "bo@lund.se", "+46701234567", "Lund AB", "CTO"),
    ]


SHAPES = {
    "google": (google, "contacts.csv"),
    "google-old": (google_old, "google.csv"),
    "outlook": (outlook, "outlook.csv"),
    "linkedin": (linkedin, "Connections.csv"),
    "hubspot": (hubspot, "hubspot-crm-exports-all-contacts.csv"),
    "salesforce-contacts": (salesforce_contacts, "report1700000000000.csv"),
    "salesforce-leads": (salesforce_leads, "report1700000000001.csv"),
    "pipedrive": (pipedrive, "people-export.csv"),
    "apple-vcard": (apple_vcard, "Contacts.vcf"),
}


@pytest.fixture
def team(db):
    """An organisation whose people and leads need a name and an e-mail (as most do), with a
    member whose name another CRM's owner column may give."""
    org = process_services.organisation_create(name="Piql", template="partnerships")
    system = accounts.system_actor(org)
    user = accounts.user_create(actor=system, email="ann@piql.test", role="salesperson")
    owner = accounts.user_create(
        actor=system, email="ola@piql.test", role="salesperson", full_name=OWNER_NAME
    )
    return accounts.actor_for(user, org), owner


def run_import(actor, tmp_path, data, name, kind, **options):
    path = tmp_path / name
    path.write_bytes(data)
    job = imports.import_create(
        actor=actor, kind=kind, file=path, file_name=name, region="GB", **options
    )
    return imports.import_execute(actor=actor, import_id=job.pk)


def check(record, wanted, kind):
    assert record.name == wanted["name"]
    assert record.email == wanted["email"]
    assert record.phone == wanted["phone"]
    assert record.linkedin == wanted["linkedin"]
    details = record.details.split("\n") if record.details else []
    if kind == "person":
        assert record.company.name == wanted["company"]
        assert record.title == wanted["title"]
    else:
        assert record.company_name == wanted["company"]
        assert f"Title: {wanted['title']}" in details
    for line in wanted["details"]:
        assert any(line in part for part in details), (line, details)
    for text in wanted["absent"]:
        assert text not in record.details


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["person", "lead"])
def test_an_export_imports_with_its_fields_mapped(team, tmp_path, shape, kind):
    actor, _ = team
    build, name = SHAPES[shape]
    data, expected = build()
    job = run_import(actor, tmp_path, data, name, kind)
    model = Person if kind == "person" else Lead
    assert job.status == "done", job.error
    assert job.created == len(expected), imports.import_report(job)["rejected"]
    for wanted in expected:
        check(
            model.objects.get(organisation=actor.organisation, email=wanted["email"]), wanted, kind
        )


def test_linkedin_notes_above_the_header_are_skipped_and_rows_keep_their_numbers(team, tmp_path):
    actor, _ = team
    data, _ = linkedin()
    job = run_import(actor, tmp_path, data, "Connections.csv", "lead")
    report = imports.import_report(job)
    assert job.mapping["URL"] == "web_address"
    # Notes (1), the paragraph (2), a blank line (3), the header (4), Ann (5), Bo (6), Cy (7).
    assert report["rejected"] == [
        {"row": 7, "name": "Cy Dahl", "email": "", "field": "email", "reason": "E-mail is required"}
    ]
    assert job.total_rows == 3


def test_an_owner_column_names_a_member_by_full_name(team, tmp_path):
    actor, owner = team
    data, _ = salesforce_leads()
    job = run_import(actor, tmp_path, data, "leads.csv", "lead")
    assert job.mapping["Lead Owner"] == "owner"
    owners = set(Lead.objects.filter(import_job=job).values_list("owner_id", flat=True))
    assert owners == {owner.pk}


def test_an_owner_name_that_is_no_member_rejects_its_row_naming_it(team, tmp_path):
    actor, _ = team
    data = table(
        SALESFORCE_LEADS,
        {"First Name": "Ann", "Last Name": "Berg", "Email": "a@piql.com", "Lead Owner": "Kari"},
    )
    job = run_import(actor, tmp_path, data, "leads.csv", "lead")
    [rejected] = imports.import_report(job)["rejected"]
    assert rejected["field"] == "owner"
    assert "kari is not a member" in rejected["reason"]


def test_the_first_valid_email_wins_and_a_bad_one_is_kept_in_the_details(team, tmp_path):
    actor, _ = team
    data = table(
        GOOGLE,
        {
            "First Name": "Ann",
            "E-mail 1 - Value": "ann at piql",
            "E-mail 2 - Value": "ann@piql.com",
        },
        {"First Name": "Bo", "E-mail 1 - Value": "bo at lund"},
    )
    job = run_import(actor, tmp_path, data, "contacts.csv", "lead")
    ann = Lead.objects.get(import_job=job)
    assert (ann.email, ann.details) == ("ann@piql.com", "E-mail: ann at piql")
    [rejected] = imports.import_report(job)["rejected"]
    assert rejected["row"] == 3 and rejected["field"] == "email"
    assert rejected["reason"].startswith("E-mail is not a valid e-mail address")


def test_outlook_title_is_taken_when_there_is_no_job_title(team, tmp_path):
    """A weak spelling still maps when nothing better does (Salesforce's Title is the job)."""
    actor, _ = team
    data, _ = salesforce_contacts()
    job = run_import(actor, tmp_path, data, "contacts.csv", "person", dry_run=True)
    assert job.mapping["Title"] == "title"
    data, _ = outlook()
    job = run_import(actor, tmp_path, data, "outlook.csv", "person", dry_run=True)
    assert "Title" not in job.mapping and job.mapping["Job Title"] == "title"
    assert "Account" not in job.mapping


def test_an_export_imported_twice_creates_nothing_the_second_time_and_undoes(team, tmp_path):
    actor, _ = team
    data, expected = apple_vcard()
    first = run_import(actor, tmp_path, data, "Contacts.vcf", "person")
    again = run_import(actor, tmp_path, data, "Contacts2.vcf", "person")
    assert (first.created, again.created, again.duplicates) == (2, 0, 2)
    imports.import_undo(actor=actor, import_id=first.pk)
    assert not Person.objects.filter(organisation=actor.organisation, deleted_at=None).exists()


def test_a_saved_mapping_keeps_several_columns_for_one_field(team, tmp_path):
    actor, _ = team
    data, _ = outlook()
    first = run_import(actor, tmp_path, data, "outlook.csv", "lead")
    # (PostgreSQL keeps JSON keys in its own order: the order tried comes from the headers.)
    assert {c for c, t in first.mapping.items() if t == "phone"} == {
        "Primary Phone",
        "Home Phone",
        "Home Phone 2",
        "Mobile Phone",
        "Company Main Phone",
        "Business Phone",
        "Business Phone 2",
        "Other Phone",
        "Car Phone",
    }
    preview = imports.import_preview(actor=actor, kind="lead", file=tmp_path / "outlook.csv")
    assert preview.mapping == first.mapping


def test_columns_mapped_to_the_details_are_introduced_by_their_header(team, tmp_path):
    actor, _ = team
    header = ["Name", "Email", "Remarks", "Met where"]
    row = {"Name": "Ann", "Email": "ann@piql.com", "Remarks": "Keen", "Met where": "Expo"}
    mapping = {"Remarks": "details", "Met where": "details"}
    job = run_import(actor, tmp_path, table(header, row), "a.csv", "lead", mapping=mapping)
    assert Lead.objects.get(import_job=job).details == "Remarks: Keen\nMet where: Expo"
    # The only column mapped there is written as it is; a lead's title is kept, introduced.
    header = ["Name", "Email", "Remarks", "Position"]
    row = {"Name": "Bo", "Email": "bo@piql.com", "Remarks": "Keen", "Position": "CTO"}
    job = run_import(
        actor, tmp_path, table(header, row), "b.csv", "lead", mapping={"Remarks": "details"}
    )
    assert job.mapping["Position"] == "details"
    assert Lead.objects.get(import_job=job).details == "Keen\nTitle: CTO"


def test_a_weak_title_is_kept_beside_a_notes_column_of_a_lead(team, tmp_path):
    """Salesforce's Title is the job title: with no better title column it is kept, even when
    a notes column also fills a lead's details."""
    actor, _ = team
    header = ["First Name", "Last Name", "Title", "Email", "Notes"]
    row = {"First Name": "Ann", "Title": "CFO", "Email": "ann@piql.com", "Notes": "Keen"}
    job = run_import(actor, tmp_path, table(header, row), "sf.csv", "lead")
    assert Lead.objects.get(import_job=job).details == "Keen\nTitle: CFO"
