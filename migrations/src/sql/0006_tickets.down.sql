DROP TABLE tickets;
DROP FUNCTION tickets_admitted_is_final();
