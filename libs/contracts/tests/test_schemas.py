from paid_contracts.schema_export import DEFAULT_DIR, render_schemas


def test_committed_json_schemas_match_the_models() -> None:
    rendered = render_schemas()
    committed = {path.name: path.read_text() for path in DEFAULT_DIR.glob("*.json")}
    stale = sorted(name for name in rendered if committed.get(name) != rendered[name])
    orphaned = sorted(set(committed) - set(rendered))
    hint = "run `python -m paid_contracts.schema_export` and commit the result"
    assert not stale, f"schemas out of date: {stale}; {hint}"
    assert not orphaned, f"schemas without a model: {orphaned}; {hint}"
