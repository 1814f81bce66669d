from trustpager_desktop.store import migrate


def test_the_quick_head_check_agrees_with_alembic():
    """A window start skips importing Alembic when the database is at the head the
    version files name; that head must be the one Alembic itself would migrate to."""
    assert migrate.head_revision() == migrate.alembic_head_revision()


def test_migrations_form_one_line():
    """Each revision has one parent and at most one child, so every database (SQLite or
    PostgreSQL, new or old) goes through the same steps in the same order (the folder's
    README.md says why the numbers are out of order)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = list(scripts.walk_revisions())  # head first
    assert len(scripts.get_heads()) == 1 and len(scripts.get_bases()) == 1
    assert all(not isinstance(r.down_revision, tuple | list) for r in revisions), "a merge"
    children = [r.down_revision for r in revisions if r.down_revision is not None]
    assert len(children) == len(set(children)), "two revisions follow the same parent"
    # the walk from the head down reaches every file: nothing hangs off to the side
    ids_in_files = migrate.known_revisions()
    assert [r.revision for r in revisions][0] == migrate.head_revision()
    assert {r.revision for r in revisions} == ids_in_files
    assert len(revisions) == len(list((migrate.MIGRATIONS_DIR / "versions").glob("0*.py")))
