-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0005: device risk: the blocklist and every risk decision with what it
-- weighed, so a decision can be explained and replayed.

CREATE TABLE blocklist (
  kind        text NOT NULL CHECK (kind IN ('device_key', 'install_id', 'address')),
  value       text NOT NULL CHECK (value <> ''),
  reason      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  PRIMARY KEY (kind, value),
  CHECK (kind <> 'device_key' OR value ~ '^04[0-9a-f]{128}$')
);
COMMENT ON TABLE blocklist IS
  'Devices, app installations and addresses refused by the back-office; risk scoring denies a listed device key or install id and reviews a listed address.';
COMMENT ON COLUMN blocklist.kind IS 'device_key, install_id or address.';
COMMENT ON COLUMN blocklist.value IS 'device_key: the 65-byte SEC1 signing key as 130 lowercase hex digits; install_id: as the app reported it; address: canonical IPv4/IPv6 text.';
COMMENT ON COLUMN blocklist.reason IS 'Why it was listed (a reviewer''s comment or a rule).';
COMMENT ON COLUMN blocklist.created_at IS 'When it was listed.';
COMMENT ON COLUMN blocklist.created_by IS 'Who listed it: an admin user name, or a system actor.';

CREATE TABLE risk_decisions (
  id               bigserial PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  enrolment_id     text NOT NULL REFERENCES enrolments (id),
  device_id        text REFERENCES devices (id),
  challenge_id     text NOT NULL,
  score            integer NOT NULL CHECK (score BETWEEN 0 AND 100),
  decision         text NOT NULL CHECK (decision IN ('allow', 'review', 'deny')),
  reasons          jsonb NOT NULL,
  signals          jsonb NOT NULL,
  ruleset_version  text NOT NULL,
  input_hash       text NOT NULL CHECK (input_hash ~ '^[0-9a-f]{64}$'),
  inputs           jsonb NOT NULL
);
COMMENT ON TABLE risk_decisions IS
  'One row per device risk scoring: the outcome, why, under which rules and on which inputs.';
COMMENT ON COLUMN risk_decisions.id IS 'Order of decision.';
COMMENT ON COLUMN risk_decisions.at IS 'When the device was scored.';
COMMENT ON COLUMN risk_decisions.enrolment_id IS 'The enrolment whose phone was scored.';
COMMENT ON COLUMN risk_decisions.device_id IS 'The device row the activation created, or NULL when none was.';
COMMENT ON COLUMN risk_decisions.challenge_id IS 'The QR challenge the phone answered.';
COMMENT ON COLUMN risk_decisions.score IS 'Sum of the weights of the rules that fired (network rules: only the largest), clamped to 0-100.';
COMMENT ON COLUMN risk_decisions.decision IS 'allow, review or deny: from the thresholds, raised by the floors of the rules that fired.';
COMMENT ON COLUMN risk_decisions.reasons IS 'JSON array of the codes of the rules that fired, in rule order (see docs/risk.md).';
COMMENT ON COLUMN risk_decisions.signals IS 'JSON object: every rule with the value it saw, and for those that fired their weight, contribution, floor and a plain-words explanation; skipped checks say why.';
COMMENT ON COLUMN risk_decisions.ruleset_version IS 'r- and 16 hex digits of the SHA-256 of the effective rules (canonical form): which rules decided.';
COMMENT ON COLUMN risk_decisions.input_hash IS 'SHA-256 (hex) of the canonical JSON in inputs.';
COMMENT ON COLUMN risk_decisions.inputs IS 'Everything the rules weighed: the device object, addresses, GeoIP answers and database history, so the decision can be replayed.';
CREATE INDEX risk_decisions_enrolment ON risk_decisions (enrolment_id);
CREATE INDEX risk_decisions_device ON risk_decisions (device_id) WHERE device_id IS NOT NULL;
