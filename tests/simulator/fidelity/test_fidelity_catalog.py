"""The event-filter catalog: every filter of the docs' index accepted, parameters checked, ids expanded."""
from __future__ import annotations

import pytest

from rchelpers.simulator import event_filter_catalog as catalog
from rchelpers.simulator.event_filter_catalog import InvalidFilter, invalid_filters_message, parse

ACCOUNT, EXTENSION = "37439510", "2253168021"

#: The event-filter index of the docs (docs/notifications/event-filters/index.md), written with ``~``,
#: and the spec each one is. ``{accountId}``/``{extensionId}`` in the docs are ``~`` here.
INDEX = [
    ("/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS", "instant-sms"),
    ("/restapi/v1.0/account/~/a2p-sms/batches", "a2p-sms-batches"),
    ("/restapi/v1.0/account/~/a2p-sms/batches/5642276556", "a2p-sms-batch"),
    ("/restapi/v1.0/account/~/a2p-sms/messages", "a2p-sms-messages"),
    ("/restapi/v1.0/account/~/a2p-sms/opt-outs", "a2p-sms-opt-outs"),
    ("/restapi/v1.0/account/~/extension/~/fax?direction=Inbound", "fax"),
    ("/restapi/v1.0/account/~/extension/~/message-store", "message-store"),
    ("/restapi/v1.0/account/~/extension/~/voicemail", "voicemail"),
    ("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber", "contact-center-phone-number"),
    ("/restapi/v1.0/account/~/telephony/sessions", "account-telephony-sessions"),
    ("/restapi/v1.0/account/~/presence", "account-presence"),
    ("/restapi/v1.0/account/~/extension/~/telephony/sessions", "extension-telephony-sessions"),
    ("/restapi/v1.0/account/~/extension/~/presence/dnd", "extension-dnd"),
    ("/restapi/v1.0/account/~/extension/~/presence", "extension-presence"),
    ("/restapi/v1.0/account/~/extension/~/presence/line/presence", "extension-presence-line-presence"),
    ("/restapi/v1.0/account/~/extension/~/presence/line", "extension-presence-line"),
    ("/team-messaging/v1/posts", "team-messaging-posts"),
    ("/team-messaging/v1/groups", "team-messaging-groups"),
    ("/restapi/v1.0/account/~/directory/entries", "directory-entries"),
    ("/restapi/v1.0/account/~/device/8475874957/emergency-address", "emergency-address"),
    ("/restapi/v1.0/account/~/extension/~/favorite", "extension-favorites"),
    ("/restapi/v1.0/account/~/extension/~/grant", "extension-grants"),
    ("/restapi/v1.0/account/~/extension/~", "extension-info"),
    ("/restapi/v1.0/account/~/extension", "extension-list"),
]


def test_the_index_has_24_filters_and_the_catalog_names_each_once():
    assert len(INDEX) == 24
    assert sorted(name for _, name in INDEX) == sorted(catalog.INDEX_FILTERS)
    names = [spec.name for spec in catalog.CATALOG]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("event_filter, name", INDEX)
def test_every_index_filter_is_accepted_and_tilde_expanded(event_filter, name):
    parsed = parse(event_filter, ACCOUNT, EXTENSION)
    assert parsed.spec.name == name
    if event_filter.startswith("/restapi/v1.0/account/"):
        assert "~" not in parsed.expanded
        assert parsed.expanded.startswith(f"/restapi/v1.0/account/{ACCOUNT}")
        assert parsed.account_id == ACCOUNT
    else:
        assert parsed.expanded == event_filter
    if "/extension/~" in event_filter:
        assert f"/extension/{EXTENSION}" in parsed.expanded and parsed.extension_id == EXTENSION
    # the query stays as written
    assert parsed.expanded.partition("?")[2] == event_filter.partition("?")[2]


@pytest.mark.parametrize("event_filter, name", INDEX)
def test_explicit_own_ids_give_the_same_filter_as_tilde(event_filter, name):
    explicit = event_filter.replace("/account/~", f"/account/{ACCOUNT}").replace("/extension/~", f"/extension/{EXTENSION}")
    assert parse(explicit, ACCOUNT, EXTENSION).expanded == parse(event_filter, ACCOUNT, EXTENSION).expanded


@pytest.mark.parametrize("event_filter, expanded", [
    ("/account/~/extension/~/presence", f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence"),
    ("/restapi/v1.0/glip/groups", "/restapi/v1.0/glip/groups"),
    ("/glip/posts", "/restapi/v1.0/glip/posts"),
    ("/team-messaging/v1/chats", "/team-messaging/v1/chats"),
    ("/team-messaging/v1/teams", "/team-messaging/v1/teams"),
    ("/restapi/v1.0/subscription/~?threshold=259200&interval=43200",
     "/restapi/v1.0/subscription/~?threshold=259200&interval=43200"),
    ("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true&aggregated=true",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/presence?detailedTelephonyState=true&aggregated=true"),
    ("/restapi/v1.0/account/~/extension/~/message-store?type=SMS&direction=Inbound",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/message-store?type=SMS&direction=Inbound"),
    ("/restapi/v1.0/account/~/extension/~/favorite/presence",
     f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/favorite/presence"),
])
def test_filters_accepted_before_stay_accepted(event_filter, expanded):
    assert parse(event_filter, ACCOUNT, EXTENSION).expanded == expanded


@pytest.mark.parametrize("resource", ["missed-calls", "start-ring", "stop-ring", "incoming-call-pickup"])
def test_filters_seen_accepted_in_a_real_response_are_accepted_and_never_fire(resource):
    parsed = parse(f"/restapi/v1.0/account/~/extension/~/{resource}", ACCOUNT, EXTENSION)
    assert parsed.spec.provenance == catalog.OBSERVED and not parsed.spec.fires
    assert parsed.expanded == f"/restapi/v1.0/account/{ACCOUNT}/extension/{EXTENSION}/{resource}"


def _reason(event_filter: str) -> str:
    with pytest.raises(InvalidFilter) as caught:
        parse(event_filter, ACCOUNT, EXTENSION)
    assert caught.value.filter == event_filter
    message = invalid_filters_message([(caught.value.filter, caught.value.reason)])
    assert message.startswith(f"Invalid event filters: [{event_filter}]: ")
    return caught.value.reason


_WITH_PARAMS = [(spec, param) for spec in catalog.CATALOG for param in spec.params]
_BAD_VALUES = {"choice": "Nonsense", "bool": "maybe", "phone": "call-me", "seconds": "sixty", "id": "no spaces"}


def _example_path(spec: catalog.FilterSpec) -> str:
    return spec.example().partition("?")[0]


def _valid_value(param: catalog.Param) -> str:
    return param.example()


def _query(spec: catalog.FilterSpec, **values: str) -> str:
    """A query with every required parameter at a valid value, then ``values``."""
    params = {p.name: _valid_value(p) for p in spec.params if p.name in spec.required}
    params.update(values)
    return "&".join(f"{name}={value}" for name, value in params.items())


@pytest.mark.parametrize("spec", catalog.CATALOG, ids=lambda s: s.name)
def test_an_unknown_query_parameter_is_named(spec):
    query = _query(spec, bogusParam="1")
    reason = _reason(f"{_example_path(spec)}?{query}")
    assert "unknown query parameter 'bogusParam'" in reason
    for name in spec.param_names:  # says what it takes instead
        assert name in reason


@pytest.mark.parametrize("spec, param", _WITH_PARAMS, ids=lambda x: getattr(x, "name", ""))
def test_a_bad_value_names_the_parameter_and_the_value(spec, param):
    reason = _reason(f"{_example_path(spec)}?{_query(spec, **{param.name: _BAD_VALUES[param.kind]})}")
    assert reason.startswith(f"{param.name} must be ")
    assert repr(_BAD_VALUES[param.kind]) in reason


@pytest.mark.parametrize("spec, param", _WITH_PARAMS, ids=lambda x: getattr(x, "name", ""))
def test_every_documented_value_is_accepted(spec, param):
    values = param.choices if param.kind == "choice" else {"bool": ("true", "false", "True"), "phone": (
        "+16505550100", "16505550100", "102"), "seconds": ("0", "3600"), "id": ("5642276556", "b6f5610f-5ff1")}[param.kind]
    for value in values:
        parsed = parse(f"{_example_path(spec)}?{_query(spec, **{param.name: value})}", ACCOUNT, EXTENSION)
        assert parsed.params[param.name] == (value.lower() if param.kind == "bool" else value)


@pytest.mark.parametrize("spec", [s for s in catalog.CATALOG if s.required], ids=lambda s: s.name)
def test_a_missing_required_parameter_is_named(spec):
    for name in spec.required:
        others = {p.name: _valid_value(p) for p in spec.params if p.name in spec.required and p.name != name}
        query = "&".join(f"{k}={v}" for k, v in others.items())
        reason = _reason(_example_path(spec) + (f"?{query}" if query else ""))
        assert reason == f"query parameter {name!r} is required"


def test_telephony_status_codes_are_the_documented_ten():
    assert catalog.TELEPHONY_STATUS_CODES == ("Setup", "Proceeding", "Answered", "Disconnected", "Gone", "Parked",
                                              "Hold", "VoiceMail", "FaxReceive", "VoiceMailScreening")
    for level in ("account-telephony-sessions", "extension-telephony-sessions"):
        spec = catalog.spec(level)
        assert spec.param_names == ("direction", "missedCall", "phoneNumber", "sipData", "statusCode", "withRecordings")
        assert spec.permissions == ("CallControl",) and spec.fires


def test_a_plus_in_a_phone_number_is_kept_literally():
    parsed = parse("/restapi/v1.0/account/~/extension/~/telephony/sessions?phoneNumber=+16505550100",
                   ACCOUNT, EXTENSION)
    assert parsed.params["phoneNumber"] == "+16505550100"
    assert parsed.expanded.endswith("?phoneNumber=+16505550100")


@pytest.mark.parametrize("event_filter, why", [
    ("/restapi/v1.0/account/~/extension/~/telephony/sessions?statusCode=Answered&statusCode=Setup", "given twice"),
    ("/restapi/v1.0/account/~/extension/~/telephony/sessions?statusCode", "malformed query string"),
    ("/restapi/v1.0/account/~/extension/~/bogus", "not a known event filter path"),
    ("/restapi/v1.0/account/abc/extension/~/presence", "not a known event filter path"),
    ("presence", "not a known event filter path"),
    ("", "non-empty string"),
])
def test_malformed_filters_say_why(event_filter, why):
    with pytest.raises(InvalidFilter) as caught:
        parse(event_filter, ACCOUNT, EXTENSION)
    assert why in caught.value.reason


def test_the_sub_508_message_lists_every_bad_filter_then_why():
    message = invalid_filters_message([("/a", "one"), ("/b", "two")])
    assert message == "Invalid event filters: [/a, /b]: /a (one); /b (two)"


@pytest.mark.parametrize("event_filter, code", [
    ("/restapi/v1.0/account/11111111/extension/~/presence", "SUB-406"),
    ("/restapi/v1.0/account/11111111/telephony/sessions", "SUB-406"),
    ("/restapi/v1.0/account/~/extension/999/message-store", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/voicemail", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/fax", "SUB-405"),
    ("/restapi/v1.0/account/~/extension/999/favorite", "SUB-518"),
    ("/restapi/v1.0/account/~/extension/999/missed-calls", "SUB-527"),
    ("/restapi/v1.0/account/~/extension/999/presence/line", "SUB-531"),
    ("/restapi/v1.0/account/~/extension/999/presence", "SUB-408"),
    ("/restapi/v1.0/account/~/extension/999/telephony/sessions", "SUB-408"),
])
def test_filters_for_someone_else_are_403_with_the_code_of_their_kind(event_filter, code):
    error = catalog.ownership_error(parse(event_filter, ACCOUNT, EXTENSION), ACCOUNT, EXTENSION)
    assert error is not None and error[:2] == (403, code)
    assert error[2] == dict([catalog.OTHER_ACCOUNT_ERROR, *catalog.OTHER_EXTENSION_ERRORS.items()])[code]


def test_own_filters_have_no_ownership_error():
    for event_filter, _ in INDEX:
        assert catalog.ownership_error(parse(event_filter, ACCOUNT, EXTENSION), ACCOUNT, EXTENSION) is None


def test_every_spec_says_where_it_comes_from_and_what_it_needs():
    for spec in catalog.CATALOG:
        assert spec.provenance in (catalog.MODELLED, catalog.OBSERVED, catalog.GUESSED), spec.name
        assert spec.source.startswith(("ringcentral/", "https://")), spec.name
        assert spec.level in ("account", "extension", "global")
        assert set(spec.required) <= set(spec.param_names)
        if not spec.fires:
            assert "never fires" in spec.note, f"{spec.name}: say why it never fires"
        assert "/work/" not in spec.source and "shared" not in spec.source


def test_permissions_follow_the_filter_pages():
    expected = {"extension-telephony-sessions": "CallControl", "extension-presence": "ReadPresence",
                "message-store": "ReadMessages", "voicemail": "ReadMessages", "fax": "ReadMessages",
                "extension-dnd": "ReadAccounts", "extension-favorites": "ReadContacts",
                "extension-info": "ReadAccounts"}
    for name, permission in expected.items():
        assert catalog.spec(name).permissions[0] == permission


def test_which_filters_fire():
    firing = {spec.name for spec in catalog.CATALOG if spec.fires}
    assert firing == {"instant-sms", "fax", "message-store", "voicemail", "account-telephony-sessions",
                      "account-presence", "extension-telephony-sessions", "extension-dnd", "extension-presence",
                      "extension-presence-line", "extension-info", "extension-list", "reminder"}


@pytest.mark.parametrize("spec", catalog.CATALOG, ids=lambda s: s.name)
def test_each_specs_example_parses_as_that_spec(spec):
    assert parse(spec.example(), ACCOUNT, EXTENSION).spec == spec


def test_an_unknown_spec_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="extension-presence"):
        catalog.spec("nope")
