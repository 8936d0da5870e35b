"""The REST API for facilities and county tools (/api/v1/): instant settlement at discharge.

A facility's system quotes a discharge (`POST quote/`), then settles it (`POST claims/`);
settling is idempotent by (facility, invoice number): a retry returns the claim settled the
first time (200), never a second one, and the same invoice with other facts is refused with 409
`duplicate_invoice`. Refusals are `{"error": <contract code>, "message": <words>}` with 422.

Who may do what (accounts.roles, capabilities "api.*"): a facility clerk (with a facility) quotes
and settles for their own facility only, and reads their facility's claims; county roles read
every claim; member lookups for both; township clerks get 403. Scoping through
`Claim.objects.for_user`: a claim out of scope is 404. Authentication: a token per user
(`Authorization: Token <key>`, `manage.py create_api_token USERNAME`) or the staff session.

The views are thin: shapes in `claims.serializers`, every check and write in `claims.services`.
"""
from __future__ import annotations

from datetime import date

from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.roles import user_can
from core.errors import NcmsError
from enrollment.models import Member

from .models import Claim, ClaimStatus
from .serializers import (
    FIELD_CODES,
    MONEY,
    ClaimPageSerializer,
    ClaimSerializer,
    MemberEligibilitySerializer,
    NotFoundSerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
    RefusalSerializer,
    SettleInputSerializer,
)
from .services import claim_quote, claim_settle

# HTTP status of a refusal by its code; every other code of the contract is 422.
REFUSAL_STATUS = {
    "duplicate_invoice": status.HTTP_409_CONFLICT,
    "out_of_scope": status.HTTP_403_FORBIDDEN,
}


def refusal(code: str, message: str, *, fields=None) -> Response:
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response(body, status=REFUSAL_STATUS.get(code, status.HTTP_422_UNPROCESSABLE_ENTITY))


def _first_message(errors) -> str:
    """The first words of a (possibly nested) DRF error structure."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(errors, list | tuple):
        for value in errors:
            if value:
                return _first_message(value)
    return str(errors)


def invalid_input(errors: dict) -> Response:
    """A request whose shape is wrong, as a refusal with the contract's code for the first bad
    field (dates: bad_dates, amounts: bad_amounts, anything else: bad_input)."""
    field = next(iter(errors), None)
    return refusal(FIELD_CODES.get(field, "bad_input"), _first_message(errors), fields=errors)


# --- authentication, permissions and throttles ----------------------------------------------------


class FacilityTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, reading the user's facility in the same query (every quote
    and settlement needs its code)."""

    def authenticate_credentials(self, key):
        try:
            token = self.get_model().objects.select_related("user", "user__facility").get(key=key)
        except self.get_model().DoesNotExist:
            raise exceptions.AuthenticationFailed("令牌无效") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("用户已停用")
        return token.user, token



class HasApiCapability(BasePermission):
    """The view's `capabilities[method]` must be carried by the user's role (accounts.roles);
    settling also needs the user's facility."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        capability = view.capabilities.get(request.method if request.method != "HEAD" else "GET")
        if capability is None or not user_can(user, capability):
            return False
        if capability == "api.settle" and not user.facility_id:
            return False
        return True


class _SettingsRateThrottle(UserRateThrottle):
    """Reads its rate from the settings at request time (DRF binds rates at import), so an
    environment- or test-set rate takes effect."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class SettleThrottle(_SettingsRateThrottle):
    """Quote and settle calls per user: REST_FRAMEWORK rate "settle" (env API_SETTLE_RATE)."""

    scope = "settle"


class ReadThrottle(_SettingsRateThrottle):
    """Reads per user: REST_FRAMEWORK rate "user" (env API_USER_RATE)."""

    scope = "user"


class ApiView(APIView):
    authentication_classes = [FacilityTokenAuthentication, SessionAuthentication]
    permission_classes = [HasApiCapability]
    capabilities: dict[str, str] = {}

    def get_throttles(self):
        throttle = ReadThrottle if self.request.method in ("GET", "HEAD", "OPTIONS") else SettleThrottle
        return [throttle()]

    def handle_exception(self, exc):
        if isinstance(exc, NcmsError):
            return refusal(exc.code, exc.message)
        return super().handle_exception(exc)


def _own_facility_code(request, data: dict) -> str | None:
    """The facility a facility clerk acts for; None when they named another one."""
    own = request.user.facility.code
    asked = (data.get("facility") or "").strip()
    if asked and asked != own:
        return None
    return own


def _not_your_facility(request) -> Response:
    return refusal("out_of_scope", f"只能为本机构（{request.user.facility.code}）报价或结算")


REFUSALS = {
    403: OpenApiResponse(RefusalSerializer, description="not your facility, or a role without access"),
    409: OpenApiResponse(RefusalSerializer, description="duplicate_invoice"),
    422: OpenApiResponse(RefusalSerializer, description="refused: the contract's error code"),
}


# --- quote and settle ----------------------------------------------------------------------------


class QuoteView(ApiView):
    """Value a discharge as it would be settled now, writing nothing."""

    capabilities = {"POST": "api.settle"}

    @extend_schema(
        operation_id="quote", request=QuoteInputSerializer,
        responses={200: QuoteOutputSerializer, **REFUSALS},
        description="The contract's quote_claims input line in, its output line out. `facility` "
                    "defaults to your own; any other facility is refused with 403.",
    )
    def post(self, request):
        serializer = QuoteInputSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid_input(serializer.errors)
        code = _own_facility_code(request, serializer.validated_data)
        if code is None:
            return _not_your_facility(request)
        quote = claim_quote(facts=serializer.to_facts(facility_code=code), facility=request.user.facility)
        return Response(quote.as_contract(serializer.validated_data.get("ref")))


class ClaimsPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _claims_for(user):
    return (Claim.objects.for_user(user).select_related("facility", "member", "policy", "referral")
            .prefetch_related("cost_lines"))


class ClaimListView(ApiView):
    """GET: the claims you may read (a facility its own, county roles all), newest first, paged;
    POST: settle a discharge (idempotent by invoice number)."""

    capabilities = {"GET": "api.claims_view", "POST": "api.settle"}

    @extend_schema(
        operation_id="claims_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ClaimStatus.values),
            OpenApiParameter("year", OpenApiTypes.INT, description="scheme year (of the discharge)"),
            OpenApiParameter("discharged_from", OpenApiTypes.DATE, description="discharge date on or after"),
            OpenApiParameter("discharged_to", OpenApiTypes.DATE, description="discharge date on or before"),
            OpenApiParameter("invoice_no", OpenApiTypes.STR),
            OpenApiParameter("page", OpenApiTypes.INT, description="page number, from 1"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="claims per page (default 50, at most 500)"),
        ],
        responses={200: ClaimPageSerializer,
                   404: OpenApiResponse(NotFoundSerializer, description="a page past the last"),
                   422: REFUSALS[422]},
    )
    def get(self, request):
        claims = _claims_for(request.user)
        params = request.query_params
        if params.get("status"):
            if params["status"] not in ClaimStatus.values:
                return refusal("bad_input", f"状态「{params['status']}」无效，应为 {', '.join(ClaimStatus.values)}")
            claims = claims.filter(status=params["status"])
        if params.get("year"):
            if not params["year"].isdigit():
                return refusal("bad_input", f"年度「{params['year']}」无效")
            claims = claims.filter(year=int(params["year"]))
        for name, lookup in (("discharged_from", "discharge_date__gte"), ("discharged_to", "discharge_date__lte")):
            if params.get(name):
                try:
                    day = _iso_date(params[name])
                except ValueError:
                    return refusal("bad_dates", f"{name}「{params[name]}」应写成 YYYY-MM-DD")
                claims = claims.filter(**{lookup: day})
        if params.get("invoice_no"):
            claims = claims.filter(invoice_no=params["invoice_no"])
        paginator = ClaimsPagination()
        page = paginator.paginate_queryset(claims, request, view=self)
        return paginator.get_paginated_response([claim_data(claim) for claim in page])

    @extend_schema(
        operation_id="claims_settle", request=SettleInputSerializer,
        responses={201: ClaimSerializer, 200: OpenApiResponse(ClaimSerializer, description=(
            "the claim settled earlier with this invoice number and the same facts (a retry)")),
            **REFUSALS},
        description="Instant settlement at discharge. Idempotent by (facility, invoice_no): the "
                    "first call creates the claim (201); a retry with the same facts returns the "
                    "same claim (200); other facts under the same invoice: 409 duplicate_invoice.",
    )
    def post(self, request):
        serializer = SettleInputSerializer(data=request.data)
        if not serializer.is_valid():
            return invalid_input(serializer.errors)
        code = _own_facility_code(request, serializer.validated_data)
        if code is None:
            return _not_your_facility(request)
        claim, created = claim_settle(user=request.user, facts=serializer.to_facts(facility_code=code),
                                      cost_lines=serializer.cost_lines_for_service())
        # The service hands back the claim with its member, facility, policy and cost lines
        # (prefetch cache): this reads nothing more; it only guards a claim handed back without.
        prefetch_related_objects([claim], "cost_lines", "member", "facility", "policy")
        # the referral record the claim rests on is the one the facts named (a retry: the same)
        referral_no = ((serializer.validated_data.get("referral_no") or "").strip() or None
                       if claim.referral_id is not None else None)
        return Response(claim_data(claim, referral_no=referral_no),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# One claim as `ClaimSerializer` writes it, without building the serializer's 26 fields (DRF
# deep-copies its declared fields for every instance: about a third of a settlement's CPU).
# tests/claims/test_api.py checks that both give the same JSON for claims of every shape.
_MONEY_OUT = serializers.DecimalField(**MONEY)
_DATETIME_OUT = serializers.DateTimeField()


def claim_data(claim: Claim, *, referral_no: str | None = None) -> dict:
    """`referral_no`: the number of the referral record the claim rests on when the caller knows it
    (the settlement: the facts named it), else read from the claim's referral (selected with it)."""
    money = _MONEY_OUT.to_representation
    if referral_no is None and claim.referral_id is not None:
        referral_no = claim.referral.number
    return {
        "id": claim.pk, "invoice_no": claim.invoice_no, "facility": claim.facility.code,
        "id_number": claim.member.id_number, "member_name": claim.member.name, "year": claim.year,
        "channel": claim.channel, "status": claim.status,
        "admission_date": claim.admission_date.isoformat(),
        "discharge_date": claim.discharge_date.isoformat(),
        "diagnosis_code": claim.diagnosis_code, "diagnosis_text": claim.diagnosis_text,
        "referred": claim.referred, "referral_no": referral_no, "delivery": claim.delivery,
        "total_cost": money(claim.total_cost), "non_reimbursable_cost": money(claim.non_reimbursable_cost),
        "reimbursable_cost": money(claim.reimbursable_cost), "compensation": money(claim.compensation),
        "patient_pays": money(claim.patient_pays), "rule": claim.rule, "breakdown": claim.breakdown,
        "policy_year": claim.policy.year, "policy_revision": claim.policy_revision,
        "cost_lines": [{"category": line.category, "amount": money(line.amount), "in_catalog": line.in_catalog}
                       for line in claim.cost_lines.all()],
        "created_at": _DATETIME_OUT.to_representation(claim.created_at),
    }


def _iso_date(text: str) -> date:
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)


class ClaimDetailView(ApiView):
    """One claim in your scope (another facility's claim is not found: 404)."""

    capabilities = {"GET": "api.claims_view"}

    @extend_schema(operation_id="claims_detail", responses={
        200: ClaimSerializer,
        404: OpenApiResponse(NotFoundSerializer, description="no such claim, or not in your scope")})
    def get(self, request, pk: int):
        claim = get_object_or_404(_claims_for(request.user), pk=pk)
        return Response(claim_data(claim))


# --- members ------------------------------------------------------------------------------------


class MemberView(ApiView):
    """Eligibility of a patient by ID number: name, category and the years enrolled.

    Facility clerks serve patients from the whole county, so the lookup is county-wide, but only
    by an exact ID number (there is no member listing in the API)."""

    capabilities = {"GET": "api.members_view"}

    @extend_schema(
        operation_id="members_eligibility",
        parameters=[OpenApiParameter("year", OpenApiTypes.INT,
                                     description="the scheme year to check (default: this year)")],
        responses={200: MemberEligibilitySerializer,
                   404: OpenApiResponse(RefusalSerializer, description="unknown_member"),
                   422: REFUSALS[422]},
    )
    def get(self, request, id_number: str):
        year = request.query_params.get("year") or ""
        if year and not year.isdigit():
            return refusal("bad_input", f"年度「{year}」无效")
        year = int(year) if year else timezone.localdate().year
        member = (Member.objects.filter(id_number=id_number.strip().upper())
                  .select_related("household__village__township").first())
        if member is None:
            return Response({"error": "unknown_member", "message": f"找不到身份证号为 {id_number} 的参合人员"},
                            status=status.HTTP_404_NOT_FOUND)
        years = sorted(member.enrollments.values_list("year", flat=True))
        data = {
            "id_number": member.id_number, "name": member.name, "sex": member.sex,
            "birth_date": member.birth_date, "category": member.category,
            "category_display": member.get_category_display(),
            "township": member.household.village.township.code,
            "enrolled_years": years, "enrolled": year in years, "year": year,
        }
        return Response(MemberEligibilitySerializer(data).data)


# --- the OpenAPI document and its pages -----------------------------------------------------------
# Public, like the public site: a facility's software vendor reads them before holding a token.
# They describe the endpoints and hold no data; every endpoint still needs its token.


class _Public:
    permission_classes = [AllowAny]
    authentication_classes: list = []  # a stale token or session does not turn the page into a 401


class SchemaView(_Public, SpectacularAPIView):
    """The OpenAPI document."""


class DocsView(_Public, SpectacularSwaggerView):
    """Swagger UI, its assets served from drf-spectacular-sidecar (no CDN)."""


class RedocView(_Public, SpectacularRedocView):
    """Redoc, its assets served from drf-spectacular-sidecar (no CDN)."""
