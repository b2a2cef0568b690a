"""Adversarial rule cases (issue 10): each is tests/golden/minimal/topology.yaml with one edit, and asserts the
verdict and every problem exactly (file:line:col, key, message, hint). The rules come from botocore's models and
the AWS docs named in harness/aws/limits.py, not from the other tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TopologyError
from harness.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "tests/golden/minimal/topology.yaml").read_text()
BROKER_PL = "aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}"
DB_PL = "aws: {kind: rds, instance_class: db.t4g.micro}"
HC = "{container: web, port: http}"
BRES = "    resources: {cpu: 0.5, memory: 2Gi}\n    placement:"
DBIMG = "    image: db\n"
LONG = "b" * 64


def apply(edits: list[tuple[str, str]], everywhere: bool = False) -> str:
    text = BASE
    for old, new in edits:
        assert everywhere or text.count(old) == 1, f"edit anchor {old!r} is not unique in the base topology"
        text = text.replace(old, new)
    return text


def verdict(text: str) -> tuple[str, list[str]]:
    try:
        _, warnings = load_text(text)
    except TopologyError as exc:
        return "error", [str(p) for p in exc.problems]
    return ("warning" if warnings else "valid"), [str(p) for p in warnings]


CASES = [
    ('rds-class-unpriced', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.r5.large}')],
     'error', [
         "topology.yaml:63:24: services.db.placement.aws.instance_class: topo has no price for 'db.r5.large', so the budget cannot count it; use one of db.t4g.micro, db.t4g.small, db.t4g.medium, or add its hourly price with its source to harness/aws/prices.py",
     ]),
    ('rds-class-typo', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.mciro}')],
     'error', [
         "topology.yaml:63:24: services.db.placement.aws.instance_class: topo has no price for 'db.t4g.mciro', so the budget cannot count it; did you mean 'db.t4g.micro'?",
     ]),
    ('rds-class-format', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: t4g.micro}')],
     'error', [
         "topology.yaml:63:24: services.db.placement.aws.instance_class: 't4g.micro' is not an RDS instance class; did you mean 'db.t4g.micro'?",
     ]),
    ('rds-storage-19', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, storage_gb: 19}')],
     'error', [
         'topology.yaml:63:54: services.db.placement.aws.storage_gb: 19 GiB is outside what RDS allocates for PostgreSQL on gp3; use 20-65536 GiB (botocore data rds/2014-10-31/service-2.json CreateDBInstance AllocatedStorage, RDS for PostgreSQL)',
     ]),
    ('rds-storage-65537', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, storage_gb: 65537}')],
     'error', [
         'topology.yaml:63:54: services.db.placement.aws.storage_gb: 65537 GiB is outside what RDS allocates for PostgreSQL on gp3; use 20-65536 GiB (botocore data rds/2014-10-31/service-2.json CreateDBInstance AllocatedStorage, RDS for PostgreSQL)',
     ]),
    ('rds-storage-0', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, storage_gb: 0}')],
     'error', [
         'topology.yaml:63:54: services.db.placement.aws.storage_gb: 0 GiB is outside what RDS allocates for PostgreSQL on gp3; use 20-65536 GiB (botocore data rds/2014-10-31/service-2.json CreateDBInstance AllocatedStorage, RDS for PostgreSQL)',
     ]),
    ('rds-storage-20-ok', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, storage_gb: 20}')],
     'valid', [
     ]),
    ('rds-storage-65536-ok', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, storage_gb: 65536}')],
     'valid', [
     ]),
    ('rds-version-v16', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, engine_version: v16}')],
     'error', [
         "topology.yaml:63:54: services.db.placement.aws.engine_version: 'v16' is not a PostgreSQL engine version; write MAJOR or MAJOR.MINOR, e.g. 16.4 (AWS docs: Amazon RDS for PostgreSQL — 'Supported PostgreSQL major versions' (MAJOR or MAJOR.MINOR))",
     ]),
    ('rds-version-3part', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, engine_version: 16.4.1}')],
     'error', [
         "topology.yaml:63:54: services.db.placement.aws.engine_version: '16.4.1' is not a PostgreSQL engine version; write MAJOR or MAJOR.MINOR, e.g. 16.4 (AWS docs: Amazon RDS for PostgreSQL — 'Supported PostgreSQL major versions' (MAJOR or MAJOR.MINOR))",
     ]),
    ('rds-version-9.6', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, engine_version: "9.6"}')],
     'error', [
         "topology.yaml:63:54: services.db.placement.aws.engine_version: PostgreSQL 9 is not a major version RDS offers; use one of 11, 12, 13, 14, 15, 16, 17, 18 (AWS docs: Amazon RDS for PostgreSQL — 'Supported PostgreSQL major versions' (MAJOR or MAJOR.MINOR))",
     ]),
    ('rds-version-16-ok', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, engine_version: "16"}')],
     'valid', [
     ]),
    ('rds-version-17.2-ok', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, engine_version: "17.2"}')],
     'valid', [
     ]),
    ('rds-ident-trailing', [('  region: us-east-1\n', '  region: us-east-1\n  rds: {identifier: shop-db-}\n')],
     'error', [
         "topology.yaml:6:9: aws.rds.identifier: 'shop-db-' is not an RDS DB instance identifier; e.g. shop-db (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBInstanceIdentifier (1-63 letters, digits or hyphens; first a letter; no trailing hyphen, no two consecutive hyphens))",
     ]),
    ('rds-ident-double', [('  region: us-east-1\n', '  region: us-east-1\n  rds: {identifier: shop--db}\n')],
     'error', [
         "topology.yaml:6:9: aws.rds.identifier: 'shop--db' is not an RDS DB instance identifier; e.g. shop-db (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBInstanceIdentifier (1-63 letters, digits or hyphens; first a letter; no trailing hyphen, no two consecutive hyphens))",
     ]),
    ('rds-ident-63-ok', [('  region: us-east-1\n', '  region: us-east-1\n  rds: {identifier: saaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n')],
     'valid', [
     ]),
    ('rds-project-trailing-hyphen', [('project: shop\n', 'project: shop-\n')],
     'error', [
         "topology.yaml:3:1: project: the RDS identifier 'shop--postgres' derived from the project is not valid; set aws.rds.identifier, e.g. shop-postgres (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBInstanceIdentifier (1-63 letters, digits or hyphens; first a letter; no trailing hyphen, no two consecutive hyphens))",
         "topology.yaml:3:1: project: the RDS database name 'shop-' (the project, as POSTGRES_DB is not set) is not valid; set POSTGRES_DB in the env of db, e.g. shop_ (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBName, RDS for PostgreSQL (1-63 letters, digits or underscores, first a letter))",
         "topology.yaml:3:1: project: the RDS master user name 'shop-' (the project, as POSTGRES_USER is not set) is not valid; set POSTGRES_USER in the env of db, e.g. shop_ (botocore data rds/2014-10-31/service-2.json CreateDBInstance MasterUsername (1-16 letters, digits or underscores, first a letter))",
     ]),
    ('rds-dbname-hyphen', [('    image: db\n', '    image: db\n    env: {POSTGRES_DB: my-db}\n')],
     'error', [
         "topology.yaml:58:11: services.db.env.POSTGRES_DB: 'my-db' is not a valid RDS database name; e.g. my_db (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBName, RDS for PostgreSQL (1-63 letters, digits or underscores, first a letter))",
     ]),
    ('rds-dbname-digit', [('    image: db\n', '    image: db\n    env: {POSTGRES_DB: 1shop}\n')],
     'error', [
         "topology.yaml:58:11: services.db.env.POSTGRES_DB: '1shop' is not a valid RDS database name; e.g. db1shop (botocore data rds/2014-10-31/service-2.json CreateDBInstance DBName, RDS for PostgreSQL (1-63 letters, digits or underscores, first a letter))",
     ]),
    ('rds-dbname-63-ok', [('    image: db\n', '    image: db\n    env: {POSTGRES_DB: d______________________________________________________________}\n')],
     'valid', [
     ]),
    ('rds-user-17', [('    image: db\n', '    image: db\n    env: {POSTGRES_USER: uxxxxxxxxxxxxxxxx}\n')],
     'error', [
         "topology.yaml:58:11: services.db.env.POSTGRES_USER: 'uxxxxxxxxxxxxxxxx' is not a valid RDS master user name; e.g. uxxxxxxxxxxxxxxx (botocore data rds/2014-10-31/service-2.json CreateDBInstance MasterUsername (1-16 letters, digits or underscores, first a letter))",
     ]),
    ('rds-user-16-ok', [('    image: db\n', '    image: db\n    env: {POSTGRES_USER: uxxxxxxxxxxxxxxx}\n')],
     'valid', [
     ]),
    ('rds-port-1149', [('{name: postgres, port: 5432, protocol: tcp}', '{name: postgres, port: 1149, protocol: tcp}')],
     'error', [
         'topology.yaml:59:26: services.db.ports[0].port: RDS does not listen on port 1149; use a port in 1150-65535, e.g. 5432 (botocore data rds/2014-10-31/service-2.json CreateDBInstance Port (valid values 1150-65535))',
     ]),
    ('rds-port-1150-ok', [('{name: postgres, port: 5432, protocol: tcp}', '{name: postgres, port: 1150, protocol: tcp}')],
     'valid', [
     ]),
    ('rds-second', [('aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', 'aws: {kind: rds, instance_class: db.t4g.micro}')],
     'error', [
         'topology.yaml:63:7: services.db.placement.aws: a second RDS placement: topo renders one DB instance per topology (broker); place db on fargate, or keep both databases in broker (topo: one aws.rds identifier and endpoint per topology (harness/targets/aws.py renders one CreateDBInstance))',
     ]),
    ('key-capacity-on-rds', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, capacity: spot}')],
     'error', [
         'topology.yaml:63:54: services.db.placement.aws.capacity: `capacity` does not apply to an rds placement; remove it; an rds placement reads engine_version, instance_class, storage_gb (botocore data rds/2014-10-31/service-2.json CreateDBInstance)',
     ]),
    ('key-class-on-fargate', [('aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', 'aws: {kind: fargate, capacity: spot, volume_lifecycle: retained, instance_class: db.t4g.micro}')],
     'error', [
         'topology.yaml:54:72: services.broker.placement.aws.instance_class: `instance_class` does not apply to a fargate placement; remove it; a fargate placement reads capacity, cpu, memory, stop_timeout_seconds, volume_lifecycle (botocore data ecs/2014-11-13/service-2.json RegisterTaskDefinition / CreateService)',
     ]),
    ('key-cpu-on-lightsail', [('    placement: {aws: lightsail}\n', '    placement: {aws: {kind: lightsail, cpu: 256}}\n')],
     'error', [
         'topology.yaml:43:40: services.web.placement.aws.cpu: `cpu` does not apply to a lightsail placement; remove it; a lightsail placement reads nothing but kind and note (botocore data lightsail/2016-11-28/service-2.json Container)',
     ]),
    ('key-host-on-rds', [('aws: {kind: rds, instance_class: db.t4g.micro}', 'aws: {kind: rds, instance_class: db.t4g.micro, host: db.example}')],
     'error', [
         'topology.yaml:63:54: services.db.placement.aws.host: `host` does not apply to an rds placement; remove it; an rds placement reads engine_version, instance_class, storage_gb (botocore data rds/2014-10-31/service-2.json CreateDBInstance)',
     ]),
    ('ebs-0', [('size: 10Gi', 'size: 0Gi')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 0Gi is below the EBS gp3 minimum of 1 GiB; write at least 1Gi, or omit size for the default 20Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-0mi', [('size: 10Gi', 'size: 0Mi')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 0Mi is below the EBS gp3 minimum of 1 GiB; write at least 1Gi, or omit size for the default 20Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-512mi', [('size: 10Gi', 'size: 512Mi')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 512Mi is not a whole number of GiB: an EBS volume is sized in GiB; write 1Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-1536mi', [('size: 10Gi', 'size: 1536Mi')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 1536Mi is not a whole number of GiB: an EBS volume is sized in GiB; write 2Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-16385', [('size: 10Gi', 'size: 16385Gi')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 16385Gi exceeds the EBS gp3 maximum of 16384 GiB; use at most 16384Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-17ti', [('size: 10Gi', 'size: 17Ti')],
     'error', [
         'topology.yaml:51:59: services.broker.volumes[0].size: 17Ti exceeds the EBS gp3 maximum of 16384 GiB; use at most 16384Gi (botocore data ecs/2014-11-13/service-2.json ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384))',
     ]),
    ('ebs-16ti-ok', [('size: 10Gi', 'size: 16Ti')],
     'valid', [
     ]),
    ('ebs-1gi-ok', [('size: 10Gi', 'size: 1Gi')],
     'valid', [
     ]),
    ('ebs-1048576ki-ok', [('size: 10Gi', 'size: 1048576Ki')],
     'valid', [
     ]),
    ('codes-1xx', [('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: "100-199"}}')],
     'error', [
         "topology.yaml:10:66: aws.lightsail.public_endpoint.health_check.success_codes: '100-199' is outside the codes Lightsail accepts; use codes within 200-499 (botocore data lightsail/2016-11-28/service-2.json ContainerServiceHealthCheckConfig successCodes (200-499))",
     ]),
    ('codes-500', [('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: "200-500"}}')],
     'error', [
         "topology.yaml:10:66: aws.lightsail.public_endpoint.health_check.success_codes: '200-500' is outside the codes Lightsail accepts; use codes within 200-499 (botocore data lightsail/2016-11-28/service-2.json ContainerServiceHealthCheckConfig successCodes (200-499))",
     ]),
    ('codes-backwards', [('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: "299-200"}}')],
     'error', [
         "topology.yaml:10:66: aws.lightsail.public_endpoint.health_check.success_codes: the range '299-200' runs backwards; write 200-299",
     ]),
    ('codes-list-ok', [('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: "200,302,404"}}')],
     'valid', [
     ]),
    ('codes-edge-ok', [('{container: web, port: http}', '{container: web, port: http, health_check: {success_codes: "200-499"}}')],
     'valid', [
     ]),
    ('stop-1', [('aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', 'aws: {kind: fargate, capacity: spot, volume_lifecycle: retained, stop_timeout_seconds: 1}')],
     'error', [
         "topology.yaml:54:72: services.broker.placement.aws.stop_timeout_seconds: 1 s is below ECS's minimum; use 2-120 (AWS docs: Amazon ECS — task definition parameters, stopTimeout (Fargate: 2-120 s, default 30))",
     ]),
    ('stop-negative', [('aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', 'aws: {kind: fargate, capacity: spot, volume_lifecycle: retained, stop_timeout_seconds: -5}')],
     'error', [
         "topology.yaml:54:72: services.broker.placement.aws.stop_timeout_seconds: -5 s is below ECS's minimum; use 2-120 (AWS docs: Amazon ECS — task definition parameters, stopTimeout (Fargate: 2-120 s, default 30))",
     ]),
    ('stop-2-ok', [('aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}', 'aws: {kind: fargate, capacity: spot, volume_lifecycle: retained, stop_timeout_seconds: 2}')],
     'valid', [
     ]),
    ('dns-64', [('broker', LONG)],
     'error', [
         "topology.yaml:44:3: services.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' is 64 characters: too long for the DNS name bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.shop.internal; use at most 63 characters (RFC 1035 §2.3.4 (a DNS label is at most 63 octets); Service Connect names a task NAME.NAMESPACE)",
     ]),
    ('dns-63-ok', [('broker', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')],
     'valid', [
     ]),
    ('dns-alias-128', [('  region: us-east-1\n', '  region: us-east-1\n  ecs: {namespace: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn}\n')],
     'error', [
         'topology.yaml:45:3: services.broker: the Service Connect name broker.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn is 128 characters; shorten the service or aws.ecs.namespace to at most 127 in all (botocore data ecs/2014-11-13/service-2.json ServiceConnectClientAlias dnsName (up to 127 characters))',
     ]),
    ('cycle-2', [('    resources: {cpu: 0.5, memory: 2Gi}\n    placement:', '    depends_on: [web]\n    resources: {cpu: 0.5, memory: 2Gi}\n    placement:')],
     'error', [
         'topology.yaml:42:18: services.web.depends_on[0]: depends_on forms a cycle: web → broker → web; remove one of these dependencies; no service of a cycle can start first',
     ]),
    ('cycle-3', [('    resources: {cpu: 0.5, memory: 2Gi}\n    placement:', '    depends_on: [db]\n    resources: {cpu: 0.5, memory: 2Gi}\n    placement:'), ('    image: db\n', '    image: db\n    depends_on: [web]\n')],
     'error', [
         'topology.yaml:42:18: services.web.depends_on[0]: depends_on forms a cycle: web → broker → db → web; remove one of these dependencies; no service of a cycle can start first',
     ]),
    ('secret-self', [('  db-password: {}\n', '  db-password: {template: "x{db-password}"}\n')],
     'error', [
         "topology.yaml:23:17: secrets.db-password.template: the template of 'db-password' uses itself; build it from {random} or from other secrets",
     ]),
    ('secret-cycle', [('  kafka-password: {}\n  db-password: {}\n', '  kafka-password: {template: "{db-password}"}\n  db-password: {template: "{kafka-password}"}\n')],
     'error', [
         'topology.yaml:22:20: secrets.kafka-password.template: secret templates form a cycle: kafka-password → db-password → kafka-password; build one of them from {random} so the others can be derived from it',
     ]),
    ('secret-chain-ok', [('  kafka-password: {}\n  db-password: {}\n', '  kafka-password: {template: "app:{db-password}"}\n  db-password: {template: "{root-key}!"}\n  root-key: {}\n')],
     'valid', [
     ]),
    ('env-unterminated', [('BROKERS: ${broker.host}:${broker.port.kafka}', 'BROKERS: ${broker.host:9092')],
     'error', [
         "topology.yaml:36:7: services.web.env.BROKERS: '${broker.host:9092' opens a reference with ${ that is never closed; close it with } (e.g. ${SERVICE.host}); a literal $ is $$",
     ]),
    ('command-unterminated', [('command: [shop, web]', 'command: [shop, web, "--db=${db.host"]')],
     'error', [
         "topology.yaml:32:26: services.web.command[2]: '${db.host' opens a reference with ${ that is never closed; close it with } (e.g. ${SERVICE.host}); a literal $ is $$",
     ]),
    ('env-dollar-escape-ok', [('      BROKERS:', '      PRICE: "$$5 or $${HOME}, cost $5"\n      BROKERS:')],
     'valid', [
     ]),
    ('volume-shared', [('{name: db-data,', '{name: broker-data,')],
     'error', [
         "topology.yaml:61:10: services.db.volumes[0].name: volume 'broker-data' is already used by broker; give each service its own volume (an EBS volume belongs to one task)",
     ]),
    ('env-1ST', [('      BROKERS:', '      1ST: x\n      BROKERS:')],
     'error', [
         "topology.yaml:36:7: services.web.env.1ST: '1ST' is not an environment variable name a shell accepts; use letters, digits and _, not starting with a digit, e.g. _1ST (POSIX XBD 3.235 'Name' (letters, digits, underscores; not starting with a digit): what sh/env accept)",
     ]),
    ('env-A=B', [('      BROKERS:', '      A=B: x\n      BROKERS:')],
     'error', [
         "topology.yaml:36:7: services.web.env.A=B: 'A=B' is not an environment variable name a shell accepts; use letters, digits and _, not starting with a digit, e.g. A_B (POSIX XBD 3.235 'Name' (letters, digits, underscores; not starting with a digit): what sh/env accept)",
     ]),
    ('env-A-B', [('      BROKERS:', '      A-B: x\n      BROKERS:')],
     'error', [
         "topology.yaml:36:7: services.web.env.A-B: 'A-B' is not an environment variable name a shell accepts; use letters, digits and _, not starting with a digit, e.g. A_B (POSIX XBD 3.235 'Name' (letters, digits, underscores; not starting with a digit): what sh/env accept)",
     ]),
    ('env-empty', [('      BROKERS:', '      "": x\n      BROKERS:')],
     'error', [
         "topology.yaml:36:7: services.web.env.: an environment variable needs a name; name it (POSIX XBD 3.235 'Name' (letters, digits, underscores; not starting with a digit): what sh/env accept)",
     ]),
    ('env-lowercase-ok', [('      BROKERS:', '      _lower_1: x\n      BROKERS:')],
     'valid', [
     ]),
    ('inline-api-key', [('      BROKERS:', '      API_KEY: sk-live-abc123\n      BROKERS:')],
     'warning', [
         'topology.yaml:36:7: services.web.env.API_KEY: API_KEY looks like a credential written in plain text; declare a secret under top-level `secrets:` and map it: secrets: {API_KEY: NAME}; env values are written in plain text into every rendering [warning]',
     ]),
    ('inline-url-password', [('postgresql://shop@${db.host}', 'postgresql://shop:hunter2@${db.host}')],
     'warning', [
         'topology.yaml:37:7: services.web.env.DATABASE_URL: DATABASE_URL carries a password in its URL (user:password@); drop the password from the URL and pass it through `secrets:` (declare it under top-level `secrets:` and map it: secrets: {DATABASE_PASSWORD: NAME}) [warning]',
     ]),
    ('inline-reference-ok', [('      BROKERS:', '      AUTH_TOKEN_HOST: ${broker.host}\n      BROKERS:')],
     'valid', [
     ]),
    ('inline-flag-ok', [('      BROKERS:', '      ALLOW_EMPTY_PASSWORD: "yes"\n      PASSWORD_FILE: /run/secrets/db-password\n      BROKERS:')],
     'valid', [
     ]),
    ('spot-no-volume', [('    volumes:\n      - {name: broker-data, path: /var/lib/redpanda/data, size: 10Gi}\n', '')],
     'warning', [
         "topology.yaml:52:7: services.broker.placement.aws: on Fargate Spot a stateful service without a volume keeps its data in the task: the data does not survive an interruption; declare a volume with volume_lifecycle: retained (standalone task, deleteOnTermination false), snapshot or efs (AWS docs: Amazon ECS — 'Fargate capacity providers' (Spot: SIGTERM, 2 minutes warning)) [warning]",
     ]),
]


@pytest.mark.parametrize("name, edits, expected_verdict, expected", CASES, ids=[c[0] for c in CASES])
def test_adversarial_case(name, edits, expected_verdict, expected):
    text = apply(edits, everywhere=name.startswith("dns-"))
    got_verdict, got = verdict(text)
    assert (got_verdict, got) == (expected_verdict, expected)


def test_secret_template_chain_is_generated_in_dependency_order(tmp_path):
    """kafka-password <- db-password <- root-key, declared in the wrong order: each is built after what it uses."""
    from harness.runtime import secrets

    text = apply([("  kafka-password: {}\n  db-password: {}\n",
                   '  kafka-password: {template: "app:{db-password}"}\n  db-password: {template: "{root-key}!"}\n'
                   "  root-key: {}\n")])
    topology, _ = load_text(text)
    assert secrets.generation_order(topology) == ["root-key", "db-password", "kafka-password"]
    values = secrets.ensure(topology, tmp_path)
    assert values["db-password"] == values["root-key"] + "!"
    assert values["kafka-password"] == "app:" + values["db-password"]


def test_inlined_secret_fails_validate_strict(tmp_path, run_cli):
    """--strict turns the plain-text credential warning into a failure."""
    path = tmp_path / "topology.yaml"
    path.write_text(apply([("      BROKERS:", "      API_KEY: sk-live-abc123\n      BROKERS:")]))
    code, _out, err = run_cli("validate", "--strict", "-f", str(path))
    assert code != 0 and "API_KEY looks like a credential written in plain text" in err


def test_reference_topology_stays_valid_without_warnings():
    _, warnings = load_text((ROOT / "topology.yaml").read_text())
    assert warnings == []
