"""Hostile and tricky YAML, written from the YAML 1.1/1.2 specs: each case is an edit of tests/golden/minimal.

Each case expects exactly one problem, checked to the character (line:col, key path, message and hint) by
tests/test_yaml_hostile.py. Line numbers refer to the edited text; the base is tests/golden/minimal/topology.yaml.
"""
from __future__ import annotations

from tests.malformed.cases import BASE, edit

# name → (topology text, expected problem without the file name)
CASES: dict[str, tuple[str, str]] = {}


def case(name: str, text: str, expected: str) -> None:
    assert name not in CASES
    CASES[name] = (text, expected)


# anchors for the merge cases, added at line 21 (before `secrets:`)
ANCHORS = ("secrets:\n  kafka-password: {}",
           "x-small: &small {cpu: 0.25, memory: 512Mi}\n"          # line 21
           "x-env: &env\n"                                          # line 22
           "  LOG_LEVEL: info\n"                                    # line 23
           "  TARGET: ${brokr.host}\n"                              # line 24
           "x-bad: &bad {cpu: 0.25, memroy: 512Mi}\n"               # line 25
           "secrets:\n  kafka-password: {}")
WEB_RESOURCES = "    resources: {cpu: 0.25, memory: 512Mi}\n"     # line 45 once ANCHORS are in
WEB_ENV = "    env:\n      BROKERS: ${broker.host}:${broker.port.kafka}\n"  # env: at line 40 once ANCHORS are in

# --- merge keys: a problem points at the key the user wrote, else at the merged key's origin -----------------
case("merge-unknown-key-points-at-origin",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {<<: *bad}\n")),
     "25:25: services.web.resources.memroy: unknown key 'memroy'; did you mean 'memory'?")
case("merge-bad-reference-points-at-origin",
     edit(ANCHORS, (WEB_ENV, "    env:\n      <<: *env\n      BROKERS: ${broker.host}:${broker.port.kafka}\n")),
     "24:3: services.web.env.TARGET: ${brokr.host} names an unknown service 'brokr'; did you mean 'broker'?")
case("merge-override-is-the-one-reported",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {<<: *small, memory: 512Mo}\n")),
     "45:29: services.web.resources.memory: '512Mo' is not a size; write a binary size such as 512Mi or 2Gi")
case("merge-override-written-before-the-merge",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {memory: 512Mo, <<: *small}\n")),
     "45:17: services.web.resources.memory: '512Mo' is not a size; write a binary size such as 512Mi or 2Gi")
case("merge-list-second-mapping-origin",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {<<: [*small, *bad]}\n")),
     "25:25: services.web.resources.memroy: unknown key 'memroy'; did you mean 'memory'?")
case("merge-of-a-scalar",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {<<: 512Mi}\n")),
     '45:21: services.web.resources: `<<` needs a mapping here; `<<` merges mappings: write `<<: *name` or `<<: [*a, *b]` with anchors of mappings')
case("merge-list-with-a-scalar",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {<<: [*small, 3]}\n")),
     '45:30: services.web.resources: `<<` can only merge mappings; this item is not one; `<<` merges mappings: write `<<: *name` or `<<: [*a, *b]` with anchors of mappings')
case("merge-key-twice",
     edit(ANCHORS, (WEB_RESOURCES, "    resources:\n      <<: *small\n      <<: *bad\n")),
     "47:7: services.web.resources: duplicate key '<<' (first at line 46); merge several mappings with one `<<: [*a, *b]`")
case("merge-of-itself",
     edit(("secrets:\n  kafka-password", "x-loop: &loop {a: 1, <<: *loop}\nsecrets:\n  kafka-password")),
     '21:26: x-loop: alias *loop is used inside its own anchor; an alias can only repeat something defined outside it')
case("quoted-merge-key-is-an-ordinary-key",
     edit(ANCHORS, (WEB_RESOURCES, "    resources: {cpu: 0.25, memory: 512Mi, '<<': *small}\n")),
     "45:43: services.web.resources.<<: unknown key '<<'; allowed keys: cpu, memory")

# --- tags: only the standard ones, refused where written ---------------------------------------------------
case("tag-custom", edit(("project: shop", "project: !shop shop")), "3:10: the YAML tag '!shop' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-python-object", edit(("project: shop", "project: !!python/object:os.system shop")), "3:10: the YAML tag '!!python/object:os.system' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-python-name-on-mapping",
     edit(("  lightsail:\n", "  lightsail: !!python/object/apply:os.system\n")), "6:14: the YAML tag '!!python/object/apply:os.system' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-binary", edit(("project: shop", "project: !!binary c2hvcA==")), "3:10: the YAML tag '!!binary' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-set", edit(("depends_on: [broker, db]", "depends_on: !!set {broker, db}")), "42:17: the YAML tag '!!set' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-verbatim", edit(("project: shop", "project: !<tag:example.com,2000:app> shop")), "3:10: the YAML tag 'tag:example.com,2000:app' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-str-on-a-list", edit(("depends_on: [broker, db]", "depends_on: !!str [broker, db]")), "42:17: the YAML tag '!!str' is not supported; topo reads plain YAML: remove the tag (quote the value if it is meant as text)")
case("tag-int-on-text", edit(("scale: 1", "scale: !!int one")), "9:12: aws.lightsail.scale: 'one' cannot be read as !!int; quote it if it is text, or fix the value")
case("tag-bool-on-text", edit(("vpc_peering: true", "vpc_peering: !!bool maybe")), "11:18: aws.lightsail.vpc_peering: 'maybe' cannot be read as !!bool; quote it if it is text, or fix the value")
case("integer-too-long", edit(("scale: 1", "scale: 1" + "0" * 5000)), "9:12: aws.lightsail.scale: '1000000000000000000000000000000000000...' cannot be read as !!int; quote it if it is text, or fix the value")

# --- characters YAML forbids, at their own line:col --------------------------------------------------------
case("nul-in-value", edit(("project: shop", "project: sh\0op")), '3:12: character U+0000 (NUL) is not allowed in YAML; a text file never holds NUL: is it UTF-16 or binary? save it as UTF-8 text')
case("bel-in-comment", edit(("# A small", "# A \x07small")), '1:5: character U+0007 (BEL) is not allowed in YAML; delete it (inside double quotes it can be written as an escape, e.g. "\\t")')
case("escape-in-env", edit(("/healthz", "/health\x1b[0mz")), '41:39: character U+001B (ESC) is not allowed in YAML; delete it (inside double quotes it can be written as an escape, e.g. "\\t")')
case("del-in-key", edit(("  region:", "  reg\x7fion:")), '5:6: character U+007F (DEL) is not allowed in YAML; delete it (inside double quotes it can be written as an escape, e.g. "\\t")')
case("c1-control", edit(("power: micro", "power: mi\x9bcro")), '8:14: character U+009B is not allowed in YAML; delete it (inside double quotes it can be written as an escape, e.g. "\\t")')
case("nul-after-crlf-lines", BASE.replace("\n", "\r\n").replace("project: shop", "project: \0shop"), '3:10: character U+0000 (NUL) is not allowed in YAML; a text file never holds NUL: is it UTF-16 or binary? save it as UTF-8 text')
case("utf16-looking-text", "v\0e\0r\0s\0i\0o\0n\0:\0 \x001\0\n\0", '1:2: character U+0000 (NUL) is not allowed in YAML; a text file never holds NUL: is it UTF-16 or binary? save it as UTF-8 text')

# --- env values: YAML's "nothing" is not text --------------------------------------------------------------
case("env-tilde", edit(("BROKERS: ${broker.host}:${broker.port.kafka}", "BROKERS: ~")), '36:16: services.web.env.BROKERS: `~` means no value in YAML, not text; quote it: `BROKERS: "~"` (or remove the line)')
case("env-null", edit(("BROKERS: ${broker.host}:${broker.port.kafka}", "BROKERS: null")), '36:16: services.web.env.BROKERS: `null` means no value in YAML, not text; quote it: `BROKERS: "null"` (or remove the line)')
case("env-empty", edit(("BROKERS: ${broker.host}:${broker.port.kafka}", "BROKERS:")), '36:15: services.web.env.BROKERS: an empty value is no value in YAML, not text; quote it: `BROKERS: ""` (or remove the line)')
case("command-item-tilde", edit(("command: [shop, web]", "command: [shop, ~]")), '32:21: services.web.command[1]: `~` means no value in YAML, not text; quote it: "~" (or remove the item)')
case("env-list-is-still-wrong", edit(("BROKERS: ${broker.host}:${broker.port.kafka}", "BROKERS: [a, b]")), "36:7: services.web.env.BROKERS: expected a string or a number or true or false, got a list; change the value's type")

# --- documents, anchors, aliases ---------------------------------------------------------------------------
case("second-document", BASE + "---\nversion: 1\n", '64:1: YAML syntax: a second document starts here; topo reads one; remove this `---` and what follows, or merge it into the first document')
case("undefined-alias", edit(("project: shop", "project: *shop")), "3:10: YAML syntax: found undefined alias 'shop'; define the anchor (`&name`) before its first alias, or quote the value if `*` is text")
case("duplicate-anchor", edit(("  - id: tenant0\n  - id: acme", "  - id: &t tenant0\n  - id: &t acme")), "14:9: YAML syntax: found duplicate anchor 't' (first at line 13); give each anchor its own name")
case("alias-inside-its-anchor", edit(("depends_on: [broker, db]", "depends_on: &deps [broker, *deps]")), '42:32: services.web.depends_on[1]: alias *deps is used inside its own anchor; an alias can only repeat something defined outside it')
case("not-a-mapping", "- version: 1\n", '1:1: (top level): the file must be a mapping of keys; start with `version: 1`, `project:`, `services:` — see topology.yaml in the repository')
case("keys-are-text-not-booleans", edit(("    role: app\n    image: app\n", "    role: app\n    image: app\n    on: push\n")), "32:5: services.web.on: unknown key 'on'; allowed keys: command, depends_on, env, healthcheck, image, placement, ports, resources, role, secrets, secrets_as, tmpfs, volumes")
