from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "township", "facility", "is_active")
    list_filter = ("role", "is_active", "township")
    fieldsets = BaseUserAdmin.fieldsets + (("角色与范围", {"fields": ("full_name", "role", "township", "facility")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("角色与范围", {"fields": ("full_name", "role", "township", "facility")}),)

    def save_model(self, request, obj, form, change):
        if not change:
            # the administrator knows the first password: the user replaces it at first login
            obj.must_change_password = True
        super().save_model(request, obj, form, change)
