"""What a browser posts for the field-by-field draft form (fund.draft_form.PolicyFieldsForm) left
as it opens on `document`, with `changes` (field name → text) on top."""
from fund.draft_form import PolicyFieldsForm


def fields_post(document: dict, *, name: str = "草案", base_year: int = 2026, **changes) -> dict:
    form = PolicyFieldsForm(document=document, initial={"name": name, "base_year": base_year})
    data: dict = {}
    for bound in form:
        value = bound.value()
        if isinstance(value, bool):
            if value:
                data[bound.name] = "on"
        elif isinstance(value, list):
            data[bound.name] = value
        else:
            data[bound.name] = "" if value is None else str(value)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data
