-- The audit trail goes, with every record in it.
DROP TABLE audit_records;
DROP FUNCTION audit_records_are_append_only();
