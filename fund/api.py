"""/api/v1/statements/: facilities' monthly settlement statements (结算单) over the REST API.

A facility clerk reads their own facility's paid statements, or with `?year=&month=` the
statement of that month as it stands (paid or computed now); the county's fund roles
("fund.statements") read every facility's, optionally one facility's (`?facility=`). Others: 403;
without a token or session: 401. Authentication, throttles and refusals as the claims' API
(claims.api). Each statement is the contract's statement object (`Statement.as_json`) with its
ref, payment date and the claims' invoice numbers.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.roles import user_can
from claims.api import ApiView, refusal
from claims.serializers import RefusalSerializer
from facilities.models import Facility

from .models import FacilityStatement
from .statements import Statement, statement_compute, statements_for_month


class StatementSerializer(serializers.Serializer):
    """One facility's statement of one month (the contract's statement object, amounts as strings)."""

    facility = serializers.CharField(help_text="facility code")
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    claims = serializers.IntegerField(help_text="number of claims paid by the statement")
    compensation = serializers.CharField(help_text="yuan, two decimals")
    penalties = serializers.CharField(help_text="inspection penalties withheld")
    recoveries = serializers.CharField(help_text="recoveries withheld")
    net = serializers.CharField(help_text="compensation − penalties − recoveries")
    paid = serializers.BooleanField()
    ref = serializers.CharField(allow_null=True, help_text="the payment's ref; null while unpaid")
    paid_on = serializers.DateField(allow_null=True)
    invoices = serializers.ListField(child=serializers.CharField(), help_text="the claims' invoice numbers")


def statement_data(statement: Statement) -> dict:
    stored = statement.stored
    return {**statement.as_json(), "ref": stored.ref if stored else None,
            "paid_on": stored.paid_on.isoformat() if stored else None,
            "invoices": [claim.invoice_no for claim in statement.claims]}


class StatementListView(ApiView):
    """GET: statements you may read: a facility its own, the county's fund roles every facility's."""

    capabilities = {"GET": "api.statements_view"}

    @extend_schema(
        operation_id="statements_list",
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT, description="with month: that month's statement(s), "
                             "paid or as computed now; without: the paid statements"),
            OpenApiParameter("month", OpenApiTypes.INT, description="1 to 12, with year"),
            OpenApiParameter("facility", OpenApiTypes.STR, description="a facility code (county roles; a "
                             "facility clerk may name only their own)"),
        ],
        responses={200: StatementSerializer(many=True),
                   403: OpenApiResponse(RefusalSerializer, description="another facility, or a role without access"),
                   422: OpenApiResponse(RefusalSerializer, description="bad_period: year or month not valid")},
    )
    def get(self, request):
        params = request.query_params
        user = request.user
        county = user_can(user, "fund.statements")
        if not county and not user.facility_id:
            return refusal("out_of_scope", "您的账号没有所属机构，不能查看结算单")
        asked = (params.get("facility") or "").strip()
        if county:
            facilities = Facility.objects.filter(code=asked) if asked else Facility.objects.order_by("code")
        else:
            if asked and asked != user.facility.code:
                return refusal("out_of_scope", f"只能查看本机构（{user.facility.code}）的结算单")
            facilities = Facility.objects.filter(pk=user.facility_id)
        year, month = params.get("year"), params.get("month")
        if year or month:
            if not (year and month):
                return refusal("bad_period", "请同时给出 year 和 month")
            if county and not asked:
                statements = statements_for_month(year, month, facilities=facilities)
            else:
                statements = [s for s in (statement_compute(f, year, month) for f in facilities) if s is not None]
        else:
            stored = (FacilityStatement.objects.filter(facility__in=facilities)
                      .select_related("facility").order_by("-year", "-month", "facility__code"))
            statements = [statement_compute(s.facility, s.year, s.month) for s in stored]
        return Response([statement_data(s) for s in statements])
