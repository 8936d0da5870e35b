import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(SimpleHistoryAdmin):
    """Read-only: a policy is loaded only through `load_policy` (validated whole, with history)."""

    list_display = ("year", "name", "revision", "loaded_at", "loaded_by")
    fields = ("year", "name", "revision", "loaded_at", "loaded_by", "document_text")
    readonly_fields = fields

    @admin.display(description=_("政策文件"))
    def document_text(self, obj):
        text = json.dumps(obj.document, ensure_ascii=False, indent=2)
        return format_html('<pre class="policy-document">{}</pre>', text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
