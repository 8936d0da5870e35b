"""The closed fund's double-entry ledger (docs/rules.md, "The closed fund": 基金封闭运行, 收支两条线).

Sign convention: a `LedgerLine.amount` is signed, debit positive and credit negative, and the
lines of a transaction sum to zero (to the fen). Money accounts (the special account, its risk
reserve sub-account, the expenditure account) and the compensation-paid account carry debit
(positive) balances; income accounts carry credit (negative) balances, so "income booked" is the
negated balance of an income account.

The risk reserve (风险基金) is kept apart inside the special account as the sub-account
`reserve`: the `special` account's own balance is what may be transferred ("the special account's
balance less the risk reserve"); special + reserve is all the money in the special account.

Every transaction and balance belongs to a scheme year: money of year Y is transferred, paid
and reconciled as year Y's.

Nothing in `LedgerTransaction` or `LedgerLine` is ever updated or deleted: a mistake is corrected
by a reversing transaction (`ledger.services.transaction_reverse`). PostgreSQL enforces this with
triggers (migration 0002) as well as the balance of every transaction at commit; on any database
the model layer refuses to save an existing row or delete one.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from accounts.roles import user_can
from core.models import AppendOnlyModel, AppendOnlyQuerySet, MoneyField


class AccountKind(models.TextChoices):
    MONEY = "money", _("资金账户")
    INCOME = "income", _("收入")
    EXPENSE = "expense", _("支出")


class IncomeSource(models.TextChoices):
    """The contract's `record_income --source` values."""

    INDIVIDUAL = "individual", _("个人缴费")
    CENTRAL = "central", _("中央财政补助")
    PROVINCIAL = "provincial", _("省级财政补助")
    COUNTY = "county", _("县级财政补助")
    INTEREST = "interest", _("利息收入")
    OTHER = "other", _("其他收入")


# Account codes of the fixed chart (seeded by migration 0003, ensured by fund.services).
SPECIAL = "special"
RESERVE = "reserve"
EXPENDITURE = "expenditure"
COMPENSATION = "compensation"
# What the fund takes back from those it paid (docs/rules.md, "Money flow"): fund income that was
# never raised, so neither the risk reserve nor the report's fund_raised counts it. The money
# stays in (or returns to) the expenditure account.
RECOVERED = "recovered"
PENALTY = "penalty"


def income_code(source: str) -> str:
    return f"income_{source}"


# the accounts of the income raised (筹资): what the risk reserve and fund_raised count
INCOME_CODES = frozenset(income_code(source) for source in IncomeSource.values)


# (code, name, kind, parent code, order)
CHART: tuple[tuple[str, str, str, str | None, int], ...] = (
    (SPECIAL, gettext_noop("财政专户"), AccountKind.MONEY, None, 10),
    (RESERVE, gettext_noop("风险基金"), AccountKind.MONEY, SPECIAL, 11),
    (EXPENDITURE, gettext_noop("支出户"), AccountKind.MONEY, None, 20),
    (income_code(IncomeSource.INDIVIDUAL), gettext_noop("个人缴费收入"), AccountKind.INCOME, None, 30),
    (income_code(IncomeSource.CENTRAL), gettext_noop("中央财政补助收入"), AccountKind.INCOME, None, 31),
    (income_code(IncomeSource.PROVINCIAL), gettext_noop("省级财政补助收入"), AccountKind.INCOME, None, 32),
    (income_code(IncomeSource.COUNTY), gettext_noop("县级财政补助收入"), AccountKind.INCOME, None, 33),
    (income_code(IncomeSource.INTEREST), gettext_noop("利息收入"), AccountKind.INCOME, None, 34),
    (income_code(IncomeSource.OTHER), gettext_noop("其他收入"), AccountKind.INCOME, None, 35),
    (COMPENSATION, gettext_noop("补偿支出"), AccountKind.EXPENSE, None, 40),
    (RECOVERED, gettext_noop("追回补偿收入"), AccountKind.INCOME, None, 50),
    (PENALTY, gettext_noop("违规扣罚收入"), AccountKind.INCOME, None, 51),
)


class Account(models.Model):
    """An account of the fixed chart (`CHART`)."""

    code = models.CharField(_("科目代码"), max_length=30, unique=True)
    name = models.CharField(_("科目名称"), max_length=60)
    kind = models.CharField(_("类别"), max_length=10, choices=AccountKind.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级科目"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        db_table = "fund_account"
        ordering = ["order", "code"]
        verbose_name = _("会计科目")
        verbose_name_plural = _("会计科目")
        constraints = [models.CheckConstraint(name="account_kind_valid",
                                              condition=Q(kind__in=AccountKind.values))]

    def __str__(self) -> str:
        return self.name

    @property
    def credit_normal(self) -> bool:
        """Income accounts carry a credit balance (贷方余额): what the fund has received."""
        return self.kind == AccountKind.INCOME


class TransactionKind(models.TextChoices):
    INCOME = "income", _("收入")
    TRANSFER = "transfer", _("划拨")
    PAYOUT = "payout", _("补偿兑付")
    INTEREST_RETURN = "interest_return", _("利息回缴")
    RESERVE = "reserve", _("风险基金计提")
    REVERSAL = "reversal", _("冲销")
    CONTRIBUTION_VOID = "contribution_void", _("缴费作废冲回")
    # a facility's statement withholds its recoveries and penalties from what it is paid
    WITHHOLDING = "withholding", _("结算扣回")
    # a household refunds a recovered township-channel claim
    REFUND = "refund", _("追回退款")


class LedgerTransactionQuerySet(AppendOnlyQuerySet):
    def for_user(self, user):
        """The ledger is county-wide: whoever may see the fund sees all of it (fund.view)."""
        return self if user_can(user, "fund.view") else self.none()


class _LedgerRecord(AppendOnlyModel):
    """A transaction or a line: never rewritten or deleted; a mistake is corrected by a reversal."""

    rewrite_refusal = "账务记录只能追加，不能修改；请做冲销"
    delete_refusal = "账务记录只能追加，不能删除；请做冲销"

    class Meta:
        abstract = True


class LedgerTransaction(_LedgerRecord):
    """One movement of money: balanced lines booked together on one date of one scheme year."""

    year = models.PositiveSmallIntegerField(_("年度"))
    date = models.DateField(_("记账日期"))
    kind = models.CharField(_("类型"), max_length=20, choices=TransactionKind.choices)
    ref = models.CharField(_("业务号"), max_length=80, blank=True,
                           help_text=_("同一类型内唯一；补偿兑付为 claim:<编号>"))
    memo = models.CharField(_("摘要"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记账人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)
    reverses = models.OneToOneField("self", verbose_name=_("冲销的凭证"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reversed_by")

    objects = LedgerTransactionQuerySet.as_manager()

    class Meta:
        db_table = "fund_ledgertransaction"
        ordering = ["-date", "-id"]
        verbose_name = _("记账凭证")
        verbose_name_plural = _("记账凭证")
        constraints = [
            models.UniqueConstraint(fields=["kind", "ref"], condition=~Q(ref=""), name="ledger_ref_unique_per_kind"),
            models.CheckConstraint(name="ledger_kind_valid", condition=Q(kind__in=TransactionKind.values)),
            models.CheckConstraint(name="ledger_reversal_points_back",
                                   condition=Q(kind="reversal", reverses__isnull=False)
                                   | (~Q(kind="reversal") & Q(reverses__isnull=True))),
        ]
        indexes = [models.Index(fields=["year", "date"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.date} {self.get_kind_display()} {self.ref}"


class LedgerLineQuerySet(AppendOnlyQuerySet):
    pass


class LedgerLine(_LedgerRecord):
    """A line of a transaction: `amount` signed, debit positive, credit negative, never zero."""

    transaction = models.ForeignKey(LedgerTransaction, verbose_name=_("记账凭证"), on_delete=models.PROTECT,
                                    related_name="lines")
    account = models.ForeignKey(Account, verbose_name=_("科目"), on_delete=models.PROTECT, related_name="lines")
    amount = MoneyField(_("金额（借正贷负）"))

    objects = LedgerLineQuerySet.as_manager()

    class Meta:
        db_table = "fund_ledgerline"
        ordering = ["transaction", "id"]
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        constraints = [models.CheckConstraint(name="ledger_line_not_zero", condition=~Q(amount=0))]

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"

    @property
    def debit(self):
        return self.amount if self.amount > 0 else None

    @property
    def credit(self):
        return -self.amount if self.amount < 0 else None


class AccountBalance(models.Model):
    """The running balance of an account in a scheme year, and its lock row.

    Every posting takes the rows of the accounts it touches with SELECT ... FOR UPDATE (ordered
    by account), then checks and moves them, so two payouts against the same expenditure account
    run one after the other and the second sees what the first took. The lines are the truth;
    `fund.selectors.reconciliation` compares the two. The sign check mirrors the closed fund:
    money and expense accounts never go below zero, income accounts never above.
    """

    account = models.ForeignKey(Account, verbose_name=_("科目"), on_delete=models.PROTECT, related_name="balances")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("类别"), max_length=10, choices=AccountKind.choices)
    balance = MoneyField(_("余额（借正贷负）"), default=0)

    class Meta:
        db_table = "fund_accountbalance"
        ordering = ["year", "account__order"]
        verbose_name = _("科目余额")
        verbose_name_plural = _("科目余额")
        constraints = [
            models.UniqueConstraint(fields=["account", "year"], name="one_balance_per_account_year"),
            models.CheckConstraint(name="balance_sign_follows_kind",
                                   condition=(Q(kind=AccountKind.INCOME) & Q(balance__lte=0))
                                   | (~Q(kind=AccountKind.INCOME) & Q(balance__gte=0))),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.year}: {self.balance}"


# --- stored monthly fund reports (fund/report.py; appended by the report work) ----------------
