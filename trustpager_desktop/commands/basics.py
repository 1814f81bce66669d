"""Foundation commands: status, demo data, adding and listing contacts."""

from __future__ import annotations

import argparse

from trustpager_desktop.core import contacts, demo, local_settings, opt_in
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.opt_in import ConsentInput
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import describe_url


def register(cli) -> None:  # type: ignore[no-untyped-def]
    cli.command("status", "show the database, the SMS provider and counts", status, reads_only=True)
    sub = cli.command("demo", "fill an empty database with a demo business", fill_demo)
    sub.add_argument("--force", action="store_true", help="add demo data even if contacts exist")
    cli.group("contacts", "add, list, import and export contacts")
    add = cli.command("add", "add one contact", add_contact, group="contacts")
    add.add_argument("first_name")
    add.add_argument("--last", default="")
    add.add_argument("--company", default="")
    add.add_argument("--email", default="")
    add.add_argument("--phone", default="")
    add.add_argument("--tags", default="")
    consent = add.add_argument_group("opt-in consent record")
    consent.add_argument("--consent-date", default="",
                         help="when they agreed to texts (2026-03-15 or '2026-03-15 14:30')")  # fmt: skip
    consent.add_argument("--consent-source", default="",
                         help="where they agreed, e.g. 'web form, spring promo'")  # fmt: skip
    consent.add_argument("--consent-method", default="",
                         help="written, verbal, keyword reply, imported, web form or other")  # fmt: skip
    consent.add_argument("--consent-evidence", default="", help="a note or file reference")
    consent.add_argument("--declined", default="", metavar="PURPOSES",
                         help="SMS purposes they declined, e.g. 'Marketing' (';' between)")  # fmt: skip
    ls = cli.command(
        "list",
        "list contacts (search like the window does)",
        list_contacts,
        group="contacts",
        reads_only=True,
    )
    ls.add_argument("query", nargs="?", default="")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--no-consent", action="store_true",
                    help="only contacts with no consent on record")  # fmt: skip
    name = cli.command(
        "name",
        "show the name this computer acts under in the activity log, or set it (kept on "
        "this computer for this user, not in the database; '' goes back to 'login on HOST')",
        user_name,
    )
    name.add_argument("new_name", nargs="?", metavar="NAME")


def status(_args: argparse.Namespace, services: AppServices) -> int:
    with services.db.read() as s:
        total = contacts.count_contacts(s)
    print(f"Database: {describe_url(services.db.url)}")
    print(f"Provider: {services.provider_choice.description}")
    if services.provider_choice.warning:
        print(f"Warning:  {services.provider_choice.warning}")
    print(f"Contacts: {total}")
    return 0


def fill_demo(args: argparse.Namespace, services: AppServices) -> int:
    with services.db.write() as s:
        if not demo.is_empty(s) and not args.force:
            print("The database already has contacts; use --force to add the demo business anyway.")
            return 1
        added = demo.fill_demo(s, actor=services.actor, clock=services.clock)
    print(f"Added a demo business with {added} contacts.")
    return 0


def add_contact(args: argparse.Namespace, services: AppServices) -> int:
    record = None
    if args.consent_date or args.consent_source or args.consent_method or args.consent_evidence:
        record = ConsentInput(args.consent_source, args.consent_date, args.consent_method,
                              args.consent_evidence)  # fmt: skip
    declined = opt_in.parse_declined(args.declined) or None
    data = ContactInput(args.first_name, args.last, args.company, args.email, args.phone,
                        args.tags, consent=record, declined_purposes=declined)  # fmt: skip
    with services.db.write() as s:
        warning = contacts.number_warning(s, args.phone, services.settings.default_country)
        contact = contacts.create_contact(
            s,
            data,
            actor=services.actor,
            default_region=services.settings.default_country,
            clock=services.clock,
        )
        view = contacts.to_view(
            contact, services.settings.default_country, services.settings.business_timezone
        )
    print(
        f"Added contact {view.id}: {view.display_name} {view.phone_e164 or ''} "
        f"({view.consent.label}; {view.record.summary(services.settings.business_timezone)})"
    )
    if view.declined_purposes:
        print(f"Declined SMS purposes: {', '.join(view.declined_purposes)}")
    if warning:
        print(f"Note: {warning}")
    return 0


def list_contacts(args: argparse.Namespace, services: AppServices) -> int:
    region = services.settings.default_country
    with services.db.read() as s:
        rows = contacts.search_contacts(s, args.query, limit=args.limit, default_region=region,
                                        no_consent=args.no_consent)  # fmt: skip
    for row in rows:  # the SMS column is the one consent state, as in the window
        state = row.consent
        sms = state.status.value.replace("_", " ") if state else "subscribed"
        sms = sms.upper() if state and not state.automation_allowed and state.opted_out else sms
        print(f"{row.id:>6}  {row.name:<30} {row.phone_display:<18} {sms:<16} {row.company}")
    return 0


def user_name(args: argparse.Namespace, services: AppServices) -> int:
    if args.new_name is not None:
        services.set_user_name(args.new_name)
        print(f"This computer now acts as '{local_settings.acting_name(services.local)}' "
              f"(kept in {services.local_path or local_settings.settings_path()}).")  # fmt: skip
        return 0
    kept = "given on this computer" if services.local.user_name else "the default: none given"
    print(f"{local_settings.acting_name(services.local)} ({kept})")
    if services.acting_as:
        print(f"This command acts as '{services.acting_as}' (--as).")
    return 0
