DROP TABLE IF EXISTS processed_events, session_sales;
