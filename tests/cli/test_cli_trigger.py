"""``rchelpers trigger`` (scenarios and sample events) and ``rchelpers clock``, as subprocesses against the
standalone simulator (frozen clock): a scenario's later steps arrive only when ``clock advance`` moves it."""
from __future__ import annotations

import json

ACCOUNT_EXTENSION = "/restapi/v1.0/account/~/extension/~/"
CALL_FILTERS = [arg for resource in ("telephony/sessions", "presence", "voicemail", "message-store")
                for arg in ("--filter", ACCOUNT_EXTENSION + resource)]


def _one_line_error(stderr: str, prog: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prog + ": error: ")
    return lines[0]


def _telephony(record: dict) -> tuple[int, str, bool]:
    """(sequence, status code, missedCall) of a telephony-session notification record of ``listen --json``."""
    body = record["notification"]["body"]
    party = body["parties"][0]
    return body["sequence"], party["status"]["code"], party["missedCall"]


def test_trigger_missed_call_plays_the_scenario_and_the_clock_delivers_the_rest_in_order(start_listen, run_cli,
                                                                                          standalone_sim):
    listening = start_listen("--json", *CALL_FILTERS)
    sub_id = listening.next_record("ready")["subscriptionId"]

    played = run_cli("trigger", "missed_call", "--json")
    assert played.returncode == 0, played.stderr
    result = json.loads(played.stdout)
    assert result["played"] == "scenario" and result["scenario"] == "missed_call"
    steps = result["steps"]
    assert [(s["offset"], s["sent"]) for s in steps][:2] == [(0.0, True), (1.0, False)]
    assert steps[0]["statusCode"] == "Setup" and steps[0]["subscriptionIds"] == [sub_id]
    assert all(not s["sent"] and s["subscriptionIds"] == [] for s in steps[1:])
    span = max(s["offset"] for s in steps)

    first = listening.next_record("notification")
    assert _telephony(first) == (1, "Setup", False)
    clock_before = standalone_sim.control("GET", "/_sim/clock")["now"]

    advanced = run_cli("clock", "advance", f"{span:g}")
    assert advanced.returncode == 0, advanced.stderr
    assert standalone_sim.control("GET", "/_sim/clock")["now"] == clock_before + span

    rest = [listening.next_record("notification") for _ in steps[1:]]
    calls = [_telephony(r) for r in rest if r["kind"] == "telephony/sessions"]
    assert calls == [(2, "Proceeding", False), (3, "VoiceMail", True), (4, "Disconnected", True)]
    presence = [r["notification"]["body"]["telephonyStatus"] for r in rest if r["kind"] == "presence"]
    assert presence == ["Ringing", "NoCall"]
    assert sorted(r["kind"] for r in rest if r["kind"] not in ("telephony/sessions", "presence")) == \
        ["message-store", "voicemail"]
    session_ids = {r["notification"]["body"]["telephonySessionId"] for r in [first] + rest
                   if r["kind"] == "telephony/sessions"}
    assert len(session_ids) == 1  # one correlated call
    code, _, err = listening.stop()
    assert code == 0, err


def test_the_text_output_says_a_scenario_was_played_with_its_steps_and_options(run_cli):
    played = run_cli("trigger", "missed_call", "--set", "ring_seconds=5", "--set", "voicemail_seconds=10")
    assert played.returncode == 0, played.stderr
    lines = played.stdout.splitlines()
    assert lines[0] == ("Played scenario missed_call: 8 steps over 17 simulated s (1 sent now, 7 when the "
                        "simulator's clock reaches them)")
    assert lines[1].split() == ["offset", "time", "event", "status", "sent"]
    table = [line.split() for line in lines[2:10]]
    assert [row[0] for row in table] == ["+0", "+1", "+1", "+6", "+6", "+16", "+17", "+17"]
    assert [row[3] for row in table] == ["telephony/sessions", "telephony/sessions", "presence", "telephony/sessions",
                                         "presence", "telephony/sessions", "voicemail", "message-store"]
    assert " ".join(table[3][4:]) == "VoiceMail (missed) scheduled"
    assert " ".join(table[0][4:]) == "Setup sent to 0 subscription(s)"
    assert lines[10] == ("The other steps are sent as the simulator's clock reaches them: it is frozen, or now with "
                         "`rchelpers clock advance 17`.")
    assert lines[11].startswith("No Active webhook subscription received the steps sent so far: start "
                                "`rchelpers listen`")


def test_trigger_event_missed_call_sends_one_event_and_schedules_nothing(start_listen, run_cli, standalone_sim):
    listening = start_listen("--json", *CALL_FILTERS)
    sub_id = listening.next_record("ready")["subscriptionId"]
    pending = standalone_sim.control("GET", "/_sim/clock")["pendingJobs"]

    sent = run_cli("trigger", "--event", "missed_call", "--set", "caller_name=Ada Lovelace", "--json")
    assert sent.returncode == 0, sent.stderr
    result = json.loads(sent.stdout)
    assert result["played"] == "event" and result["kind"] == "missed_call"
    assert result["subscriptionIds"] == [sub_id] and len(result["notifications"]) == 1
    record = listening.next_record("notification")
    assert _telephony(record)[1:] == ("VoiceMail", True)
    assert "VoiceMail (Inbound, missed), sequence" in record["summary"]
    assert record["notification"]["body"]["parties"][0]["from"]["name"] == "Ada Lovelace"
    assert standalone_sim.control("GET", "/_sim/clock")["pendingJobs"] == pending  # no scenario step waits

    text = run_cli("trigger", "--event", "missed_call")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Sent sample event missed_call (a single event; `rchelpers trigger missed_call` "
                                  "plays the whole call): 1 notification(s) to 1 subscription(s)")
    listening.next_record("notification")
    code, rest, err = listening.stop()
    assert code == 0, err
    assert json.loads(rest.splitlines()[-1])["notifications"] == 2


def test_an_unknown_name_lists_the_simulators_scenarios_and_kinds(run_cli, standalone_sim):
    scenarios = list(standalone_sim.control("GET", "/_sim/scenarios")["scenarios"])
    kinds = list(standalone_sim.control("GET", "/_sim/events")["kinds"])
    result = run_cli("trigger", "incoming_call")
    assert result.returncode == 1 and result.stdout == ""
    line = _one_line_error(result.stderr, "rchelpers trigger")
    assert f"no scenario or event kind 'incoming_call': scenarios: {', '.join(scenarios)}; " \
           f"sample event kinds: {', '.join(kinds)}" in line
    assert "inbound_call" in scenarios and "telephony_session" in kinds

    scenario_as_event = run_cli("trigger", "--event", "inbound_call")
    assert scenario_as_event.returncode == 1
    assert "inbound_call is a scenario: leave out --event to play it" in \
        _one_line_error(scenario_as_event.stderr, "rchelpers trigger")


def test_a_refused_option_prints_the_simulators_reason_naming_it(run_cli):
    unknown = run_cli("trigger", "inbound_call", "--set", "duration=90")
    assert unknown.returncode == 1 and unknown.stdout == ""
    line = _one_line_error(unknown.stderr, "rchelpers trigger")
    assert "the simulator refused an option of scenario inbound_call (HTTP 400 CMN-101)" in line
    assert "unknown option 'duration'" in line and "duration_seconds" in line  # the options it accepts

    bad_value = run_cli("trigger", "inbound_call", "--set", "duration_seconds=forever")
    assert bad_value.returncode == 1
    assert "Parameter [duration_seconds] value is invalid" in _one_line_error(bad_value.stderr, "rchelpers trigger")

    bad_field = run_cli("trigger", "--event", "voicemail", "--set", "pages=3")
    assert bad_field.returncode == 1
    assert "unknown option 'pages'" in _one_line_error(bad_field.stderr, "rchelpers trigger")

    usage = run_cli("trigger", "inbound_call", "--set", "duration_seconds")
    assert usage.returncode == 2 and "expected NAME=VALUE" in _one_line_error(usage.stderr, "rchelpers trigger")


def test_a_scenario_option_changes_the_call(run_cli):
    played = json.loads(run_cli("trigger", "inbound_call", "--set", "duration_seconds=90", "--json").stdout)
    offsets = {s.get("statusCode"): s["offset"] for s in played["steps"] if "statusCode" in s}
    assert offsets["Disconnected"] - offsets["Answered"] == 90


def test_help_lists_the_configured_simulators_scenarios_and_kinds(run_cli, clean_env, standalone_sim):
    scenarios = standalone_sim.control("GET", "/_sim/scenarios")["scenarios"]
    kinds = standalone_sim.control("GET", "/_sim/events")["kinds"]
    result = run_cli("trigger", "--help")
    assert result.returncode == 0, result.stderr
    catalogue = result.stdout.split(f"on the simulator at {standalone_sim.url}:", 1)[1]
    for name, options in scenarios.items():
        assert f"    {name} " in catalogue and all(f"{option}=" in catalogue for option in options)
    for kind in kinds:
        assert f"    {kind} " in catalogue
    assert "missed_call is both: `rchelpers trigger missed_call` plays the scenario" in catalogue
    assert "duration=90" not in result.stdout and "--set duration_seconds=90" in result.stdout

    offline = run_cli("trigger", "--help", env=clean_env)
    assert offline.returncode == 0 and "on the simulator at" not in offline.stdout
    assert "start a simulator (`rchelpers sim --env-file .env.sim`" in offline.stdout


def test_clock_shows_and_advances_the_simulated_time(run_cli, standalone_sim):
    before = standalone_sim.control("GET", "/_sim/clock")
    shown = run_cli("clock")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"Simulated time {before['iso']} (frozen); ")

    advanced = run_cli("clock", "--json", "advance", "90")
    assert advanced.returncode == 0, advanced.stderr
    assert json.loads(advanced.stdout)["now"] == before["now"] + 90
    text = run_cli("clock", "advance", "0.5")
    assert text.returncode == 0 and text.stdout.startswith("Advanced the clock 0.5 s to ")
    assert standalone_sim.control("GET", "/_sim/clock")["now"] == before["now"] + 90.5

    for bad in ("-1", "soon", "inf"):
        refused = run_cli("clock", "advance", bad)
        assert refused.returncode == 2
        assert "expected a number of seconds >= 0" in _one_line_error(refused.stderr, "rchelpers clock advance")
    assert standalone_sim.control("GET", "/_sim/clock")["now"] == before["now"] + 90.5
