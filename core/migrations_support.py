"""Migration steps shared by the moves of models between apps."""
from django.db import migrations


def content_types_move(from_app: str, to_app: str, models: tuple[str, ...]) -> migrations.RunPython:
    """Relabel the content types of `models` from `from_app` to `to_app` (and back when the
    migration is reversed), so permissions and the admin's log follow the moved models. A content
    type already present under the target label is left alone."""

    def relabel(source: str, target: str):
        def run(apps, schema_editor):
            content_type = apps.get_model("contenttypes", "ContentType")
            for model in models:
                if not content_type.objects.filter(app_label=target, model=model).exists():
                    content_type.objects.filter(app_label=source, model=model).update(app_label=target)
        return run

    return migrations.RunPython(relabel(from_app, to_app), relabel(to_app, from_app))
