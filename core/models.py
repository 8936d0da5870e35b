"""Model bases shared by the apps: the money field, append-only rows, stored documents."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.errors import NcmsError
from core.uploads import stored_name


class MoneyField(models.DecimalField):
    """Money: decimal yuan with two places (fen), up to 16 digits before the point. Never float.

    Stored and migrated as a plain DecimalField(max_digits=18, decimal_places=2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses to rewrite or delete rows in bulk: the model's rows are a record that is only added to."""

    def update(self, **kwargs):
        raise NcmsError(self.model.rewrite_refusal, code=self.model.refusal_code)

    def delete(self):
        raise NcmsError(self.model.delete_refusal, code=self.model.refusal_code)


class AppendOnlyModel(models.Model):
    """A row that, once stored, is never rewritten or deleted: the ledger, a claim's steps, posted
    notices, stored reports. A mistake is corrected by a new row (a reversal, an addendum, a new
    version), which the subclass's words say.

    This is an invariant of storage, like a database constraint, not domain logic in save(): it is
    kept in the model because SQLite has no triggers installed; on PostgreSQL the ledger's tables
    refuse the same through triggers, whatever path the write takes. Subclasses set the refusal's
    words and code and give their queryset `AppendOnlyQuerySet` as base."""

    rewrite_refusal = "记录只能追加，不能修改"
    delete_refusal = "记录只能追加，不能删除"
    refusal_code = "append_only"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise NcmsError(self.rewrite_refusal, code=self.refusal_code)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise NcmsError(self.delete_refusal, code=self.refusal_code)


class StoredDocument(models.Model):
    """An uploaded scan or document kept with a record (a claim's invoices, an inspection's report):
    PDF, JPEG or PNG by its first bytes (`core.uploads.document_content_type`), stored under
    MEDIA_ROOT and served only by views that apply the user's scope. Subclasses add the record
    it belongs to and its `file` field with the folder it is stored in."""

    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name or self.file.name

    def save(self, *args, **kwargs):
        if self.file and not self.file._committed:
            # stored under the extension of the type its bytes showed, never the name's
            self.file.name = stored_name(self.file.name, self.content_type)
        super().save(*args, **kwargs)
