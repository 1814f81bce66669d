from trustpager_desktop.store import migrate


def test_the_quick_head_check_agrees_with_alembic():
    """A window start skips importing Alembic when the database is at the head the
    version files name; that head must be the one Alembic itself would migrate to."""
    assert migrate.head_revision() == migrate.alembic_head_revision()
