from django.contrib import admin, messages

from engine.keys import api_key_create, api_key_revoke
from engine.models import Account, ApiKey, Job, StoredFile


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "credits", "quota_bytes", "is_operator", "created_at")
    search_fields = ("name",)
    inlines = [ApiKeyInline]
    actions = ["new_api_key"]

    @admin.action(description="Create a new API key (shown once)")
    def new_api_key(self, request, queryset):
        for account in queryset:
            _, raw = api_key_create(account=account)
            self.message_user(request, f"New key for {account}: {raw} (copy it now)", messages.WARNING)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "account", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("account", "prefix", "digest", "created_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created from an account, so the secret can be shown once

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("path", "account", "size", "content_type", "expires_at")
    list_filter = ("content_type",)
    search_fields = ("path", "account__name")
    readonly_fields = [f.name for f in StoredFile._meta.fields]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("tool", "account", "status", "duration_ms", "started_at")
    list_filter = ("status", "tool")
    search_fields = ("account__name", "input_path")
    readonly_fields = [f.name for f in Job._meta.fields]
