-- With trace export on, the W3C traceparent of the webhook request that stored a row, so that the
-- delivery worker continues that request's trace: on an incident for the sends its recipients' feeds
-- queue later, on a job for the job itself. NULL with export off, and for rows stored before.
ALTER TABLE incidents ADD COLUMN traceparent TEXT;
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
