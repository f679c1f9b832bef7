-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0011: smaller holes (issue 12).

-- Signed device requests: the replay store is keyed on what was signed,
-- not on the signature text (ECDSA signatures are malleable: (r, n - s) and
-- any new random k sign the same message).  Rows keyed on signature hashes
-- cannot be turned into message hashes; they only mattered for 120 s (the
-- clock-skew window), so the table starts empty: a request signed in the
-- two minutes before this migration could be replayed once after it.
-- Apply it with the devices quiet, or accept that window.
DROP TABLE device_request_nonces;
CREATE TABLE device_request_nonces (
  device_id  text NOT NULL,
  ts         bigint NOT NULL,
  msg_hash   bytea NOT NULL CHECK (length(msg_hash) = 32),
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, ts, msg_hash)
);
COMMENT ON TABLE device_request_nonces IS 'Signed device requests seen in the last few minutes, keyed on what was signed: the same message again, under any signature, is a replay.';
COMMENT ON COLUMN device_request_nonces.device_id IS 'The signing device.';
COMMENT ON COLUMN device_request_nonces.ts IS 'Guichet-Timestamp of the request (unix seconds); rows more than 120 s old can be deleted.';
COMMENT ON COLUMN device_request_nonces.msg_hash IS 'SHA-256 of the signed string "METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))".';
COMMENT ON COLUMN device_request_nonces.at IS 'When it was seen.';
