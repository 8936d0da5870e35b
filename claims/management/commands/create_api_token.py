"""`manage.py create_api_token USERNAME [--reset]`: print the user's REST API token (for the
facility's IT staff to configure their system); the existing token is kept unless --reset."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import Role


class Command(BaseCommand):
    help = "打印（必要时创建）用户的 API 令牌，供定点机构信息系统调用 /api/v1/ 使用"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="作废旧令牌，生成新令牌")

    @transaction.atomic
    def handle(self, *args, username, reset, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"找不到用户「{username}」")
        if not user.is_active:
            raise CommandError(f"用户「{username}」已停用，不能发放令牌")
        if user.role == Role.FACILITY_CLERK and not user.facility_id:
            raise CommandError(f"用户「{username}」没有所属定点医疗机构")
        if reset:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        if user.role != Role.FACILITY_CLERK:
            self.stderr.write(f"提示：用户「{username}」不是定点机构结算员，只能读取，不能报价或结算")
        self.stdout.write(token.key)
