"""The malformed-topology corpus: each case is one edit of tests/golden/minimal/topology.yaml.

An edit is (old, new): `old` must occur exactly once in the base, so a change to the base cannot silently turn
a case into a different one. Each case expects exactly one problem, checked to the character (line:col, key
path, message and hint) by tests/test_malformed.py.
"""
from __future__ import annotations

from pathlib import Path

BASE = (Path(__file__).parent.parent / "golden" / "minimal" / "topology.yaml").read_text()

EXTRA_APPS = "".join(
    f"  extra{i}:\n    role: app\n    image: app\n    ports:\n      - {{name: http, port: {9100 + i}, protocol: http}}\n"
    f"    resources: {{cpu: 0.001, memory: 1Mi}}\n    placement: {{aws: lightsail}}\n"
    for i in range(10)
)


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert text.count(old) == 1, f"corpus edit target {old!r} must occur exactly once in the base"
        text = text.replace(old, new)
    return text


# name → (topology text, expected problem without the file name)
CASES: dict[str, tuple[str, str]] = {}


def case(name: str, text: str, expected: str) -> None:
    assert name not in CASES
    CASES[name] = (text, expected)


case('yaml-bad-indent',
     edit(('    image: app\n    command', '    image: app\n   command')),
     "32:4: YAML syntax: expected <block end>, but found '<block mapping start>'; fix the indentation or quoting at this position")

case('yaml-unclosed-flow',
     edit(('{name: events, partitions: 3}', '{name: events, partitions: 3')),
     "17:6: YAML syntax: expected ',' or '}', but got ':'; fix the indentation or quoting at this position")

case('duplicate-key',
     edit(('    image: app\n', '    image: app\n    image: app\n')),
     "32:5: services.web.image: duplicate key 'image' (first at line 31); keep one of them")

case('unknown-top-level-key',
     edit(('services:\n  web:', 'servics:\n  web:')),
     "28:1: servics: unknown key 'servics'; did you mean 'services'?")

case('missing-images',
     edit(('images:\n  app: {ref: shop/app:1}\n  broker: {ref: redpandadata/redpanda:v26.2.1}\n  db: {ref: postgres:16}\n', '')),
     "2:1: (top level): missing required key 'images'; add `images:` here")

case('version-2',
     edit(('version: 1', 'version: 2')),
     "2:1: version: '2' is not supported; write 1")

case('project-uppercase',
     edit(('project: shop', 'project: Shop')),
     "3:1: project: 'Shop' does not match ^[a-z][a-z0-9-]{0,29}$; use lowercase letters, digits and hyphens")

case('misspelt-service-key',
     edit(('    image: app\n', '    imgae: app\n')),
     "31:5: services.web.imgae: unknown key 'imgae'; did you mean 'image'?")

case('role-not-allowed',
     edit(('    role: app', '    role: worker')),
     "30:5: services.web.role: 'worker' is not allowed; use one of: app, cache, stateful, emulator")

case('port-out-of-range',
     edit(('port: 8080', 'port: 70000')),
     '34:22: services.web.ports[0].port: 70000 is out of range; use a value at most 65535')

case('port-is-a-string',
     edit(('port: 8080', 'port: http')),
     '34:22: services.web.ports[0].port: expected a whole number, got a string ("http"); change the value\'s type')

case('port-missing-name',
     edit(('{name: http, port: 8080,', '{port: 8080,')),
     "34:9: services.web.ports[0]: missing required key 'name'; add `name:` here")

case('memory-decimal-unit',
     edit(('memory: 512Mi', 'memory: 2G')),
     "40:28: services.web.resources.memory: '2G' is not a size; write 2Gi")

case('memory-megabytes',
     edit(('memory: 512Mi', 'memory: 512MB')),
     "40:28: services.web.resources.memory: '512MB' is not a size; write 512Mi")

case('volume-size-words',
     edit(('size: 10Gi', 'size: ten')),
     "51:59: services.broker.volumes[0].size: 'ten' is not a size; write a binary size such as 512Mi or 2Gi")

case('cpu-zero',
     edit(('cpu: 0.25', 'cpu: 0')),
     '40:17: services.web.resources.cpu: 0 is out of range; use a value more than 0')

case('unknown-image',
     edit(('    image: app\n', '    image: ap\n')),
     "31:5: services.web.image: unknown image 'ap'; did you mean 'app'?")

case('ref-unknown-service',
     edit(('${broker.host}', '${brokr.host}')),
     "36:7: services.web.env.BROKERS: ${brokr.host} names an unknown service 'brokr'; did you mean 'broker'?")

case('ref-unknown-port',
     edit(('${broker.port.kafka}', '${broker.port.kafak}')),
     "36:7: services.web.env.BROKERS: ${broker.port.kafak}: service 'broker' has no port named 'kafak'; did you mean 'kafka'?")

case('ref-malformed',
     edit(('${broker.host}', '${broker.hostname}')),
     '36:7: services.web.env.BROKERS: ${broker.hostname} is not a reference topo understands; write ${SERVICE.host}, ${SERVICE.port.NAME} or ${SERVICE.published.NAME}; a literal $ is $$')

case('unknown-secret',
     edit(('DB_PASSWORD: db-password', 'DB_PASSWORD: db-pasword')),
     "39:7: services.web.secrets.DB_PASSWORD: unknown secret 'db-pasword'; did you mean 'db-password'?")

case('kafka-user-unknown-secret',
     edit(('password_secret: kafka-password', 'password_secret: kafka-pass')),
     "20:19: kafka.users[0].password_secret: unknown secret 'kafka-pass'; did you mean 'kafka-password'?")

case('depends-on-unknown',
     edit(('depends_on: [broker, db]', 'depends_on: [broker, dbb]')),
     "42:26: services.web.depends_on[1]: unknown service 'dbb'; did you mean 'db'?")

case('depends-on-self',
     edit(('depends_on: [broker, db]', 'depends_on: [broker, web]')),
     '42:26: services.web.depends_on[1]: a service cannot depend on itself; remove it')

case('healthcheck-unknown-port',
     edit(('port: http}}', 'port: htp}}')),
     "41:42: services.web.healthcheck.http.port: no port named 'htp' on this service; did you mean 'http'?")

case('healthcheck-two-kinds',
     edit(('healthcheck: {http: {path: /healthz, port: http}}', 'healthcheck: {http: {path: /healthz, port: http}, tcp: http}')),
     '41:5: services.web.healthcheck: has 2 entries, at most 1 allowed; keep only one of: http, tcp')

case('port-name-twice',
     edit(('      - {name: http, port: 8080, protocol: http, publish: true}\n', '      - {name: http, port: 8080, protocol: http, publish: true}\n      - {name: http, port: 8081, protocol: http}\n')),
     "35:10: services.web.ports[1].name: port name 'http' is used twice in this service; rename one")

case('published-port-clash',
     edit(('      - {name: kafka, port: 9092, protocol: tcp}', '      - {name: kafka, port: 8080, protocol: tcp, publish: true}'), ('${broker.port.kafka}', '9092')),
     '49:23: services.broker.ports[0].port: port 8080 is already published by services.web; two services cannot publish the same port on 127.0.0.1; change one')

case('first-tenant-not-tenant0',
     edit(('  - id: tenant0\n  - id: acme\n', '  - id: acme\n  - id: tenant0\n')),
     "13:5: tenants[0].id: the first tenant is 'acme', not tenant0; list the platform tenant `tenant0` first; it is processed like every other tenant")

case('duplicate-tenant',
     edit(('  - id: acme\n', '  - id: acme\n  - id: acme\n')),
     "15:5: tenants[2].id: tenant 'acme' is declared twice; tenant ids are unique")

case('duplicate-topic',
     edit(('  - {name: events, partitions: 3}\n', '  - {name: events, partitions: 3}\n  - {name: events, partitions: 6}\n')),
     "17:6: topics[1].name: topic 'events' is declared twice; keep one")

case('zero-partitions',
     edit(('partitions: 3', 'partitions: 0')),
     '16:20: topics[0].partitions: 0 is out of range; use a value at least 1')

case('sasl-plain',
     edit(('mechanism: SCRAM-SHA-256', 'mechanism: PLAIN')),
     "18:3: kafka.mechanism: 'PLAIN' is not allowed; use one of: SCRAM-SHA-256, SCRAM-SHA-512")

case('lightsail-power-misspelt',
     edit(('power: micro', 'power: mikro')),
     "8:5: aws.lightsail.power: 'mikro' is not a Lightsail power; did you mean 'micro'?")

case('lightsail-scale-25',
     edit(('scale: 1', 'scale: 25')),
     '9:5: aws.lightsail.scale: scale 25 is out of range; use 1-20 (botocore data lightsail/2016-11-28/service-2.json ContainerServiceScale min 1, max 20)')

case('lightsail-eleven-containers',
     edit(('  broker:\n    role: stateful', EXTRA_APPS + '  broker:\n    role: stateful'), ('cpu: 0.25', 'cpu: 0.2')),
     "113:17: services.extra9.placement.aws: 11 containers are placed on Lightsail; a deployment holds at most 10; move some to Fargate or a second container service (AWS docs: Lightsail — 'Creating and managing container service deployments')")

case('lightsail-name-trailing-hyphen',
     edit(('  web:\n    role: app', '  web-:\n    role: app'), ('{container: web,', '{container: web-,')),
     "29:3: services.web-: 'web-' is not a Lightsail container name; 1-53 lowercase letters, digits and inner hyphens (botocore data lightsail/2016-11-28/service-2.json ContainerName (pattern, max 53))")

case('public-endpoint-not-in-group',
     edit(('{container: web,', '{container: broker,')),
     "10:23: aws.lightsail.public_endpoint.container: 'broker' is not a container of the Lightsail service; choose one of: web")

case('public-endpoint-tcp',
     edit(('{name: http, port: 8080, protocol: http, publish: true}', '{name: http, port: 8080, protocol: tcp, publish: true}')),
     "10:39: aws.lightsail.public_endpoint.port: the public endpoint must be HTTP or HTTPS; port 'http' of web is tcp; serve HTTP on it and declare protocol: http (AWS docs: Lightsail — 'Creating and managing container service deployments')")

case('lightsail-power-too-small',
     edit(('cpu: 0.25', 'cpu: 0.5')),
     "8:5: aws.lightsail.power: the Lightsail containers request 0.5 vCPU / 512 MiB; 'micro' gives 0.25 vCPU / 1024 MiB per node; choose a larger power or lower the containers' resources")

case('stateful-on-lightsail',
     edit(('      aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', '      aws: lightsail')),
     '54:7: services.broker.placement.aws: a stateful service cannot run on Lightsail (containers there have no volumes); place it on fargate (with an EBS volume) or rds')

case('volume-on-lightsail',
     edit(('    resources: {cpu: 0.25, memory: 512Mi}', '    volumes:\n      - {name: cache, path: /cache}\n    resources: {cpu: 0.25, memory: 512Mi}')),
     '40:5: services.web.volumes: Lightsail containers have no volumes; drop the volumes or place the service on fargate (botocore data lightsail/2016-11-28/service-2.json Container has image/command/environment/ports only)')

case('no-vpc-peering',
     edit(('vpc_peering: true', 'vpc_peering: false')),
     '36:7: services.web.env.BROKERS: Lightsail reaches broker (fargate), db (rds) only through VPC peering; set aws.lightsail.vpc_peering: true (and peer the Lightsail VPC)')

case('fargate-bad-pair',
     edit(('{kind: fargate, capacity: spot, volume_lifecycle: retained}', '{kind: fargate, capacity: spot, volume_lifecycle: retained, cpu: 256, memory: 4096}')),
     "54:82: services.broker.placement.aws.memory: cpu 256 / memory 4096 is not a Fargate task size; with cpu 256 use memory 512-2048 MiB (AWS docs: Amazon ECS — 'Task CPU and memory' (Fargate supported values))")

case('fargate-stop-timeout',
     edit(('{kind: fargate, capacity: spot, volume_lifecycle: retained}', '{kind: fargate, capacity: spot, volume_lifecycle: retained, stop_timeout_seconds: 300}')),
     "54:72: services.broker.placement.aws.stop_timeout_seconds: 300 s exceeds ECS's maximum; use at most 120 (AWS docs: Amazon ECS — 'Fargate capacity providers' (Spot: SIGTERM, 2 minutes warning))")

case('rds-without-class',
     edit(('{kind: rds, instance_class: db.t4g.micro}', '{kind: rds}')),
     '63:7: services.db.placement.aws: an RDS placement needs `instance_class`; e.g. instance_class: db.t4g.micro')

case('health-interval-1',
     edit(('{container: web, port: http}', '{container: web, port: http, health_check: {interval_seconds: 1}}')),
     '10:66: aws.lightsail.public_endpoint.health_check.interval_seconds: 1 is out of range; use 5-300 (AWS API reference: Lightsail ContainerServiceHealthCheckConfig)')

case('success-codes-words',
     edit(('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: ok}}')),
     "10:66: aws.lightsail.public_endpoint.health_check.success_codes: 'ok' is not a list of HTTP codes; write e.g. 200-499 or 200,302")

case('placement-misspelt',
     edit(('placement: {aws: lightsail}', 'placement: {aws: lightsale}')),
     "43:17: services.web.placement.aws: 'lightsale' is not allowed; did you mean 'lightsail'?")

case('secret-both-env-and-secret',
     edit(('      DATABASE_URL:', '      DB_PASSWORD: x\n      DATABASE_URL:')),
     '40:7: services.web.secrets.DB_PASSWORD: DB_PASSWORD is both an env value and a secret; keep it in one place')

case('tenants-is-a-string',
     edit(('tenants:\n  - id: tenant0\n  - id: acme\n', 'tenants: acme\n')),
     '12:1: tenants: expected a list, got a string ("acme"); change the value\'s type')

case('image-ref-uppercase',
     edit(('{ref: shop/app:1}', '{ref: Shop/App:1}')),
     "25:9: images.app.ref: 'Shop/App:1' does not match ^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$; use lowercase letters, digits and hyphens")

case('secret-template-unknown',
     edit(('  db-password: {}', '  db-password: {template: "{kafka-pasword}"}')),
     "23:17: secrets.db-password.template: {kafka-pasword} names an unknown secret; did you mean 'kafka-password'?")

case('published-port-not-published',
     edit(('${broker.port.kafka}', '${broker.published.kafka}')),
     "36:7: services.web.env.BROKERS: ${broker.published.kafka}: port 'kafka' of broker is not published; add publish: true to it, or write ${broker.port.kafka}")

case('bootstrap-file-missing',
     edit(('services:\n  web:', 'bootstrap:\n  db: [sql/missing.sql]\nservices:\n  web:')),
     '29:8: bootstrap.db[0]: file sql/missing.sql does not exist; paths are relative to the folder of topology.yaml')

case('public-endpoint-unknown-port',
     edit(('{container: web, port: http}', '{container: web, port: web}')),
     "10:39: aws.lightsail.public_endpoint.port: 'web' has no port named 'web'; its ports are: http")
