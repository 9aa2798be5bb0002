-- Bounds the Top-N state of the INSERT below: Flink forgets an order that has had
-- no event for {{raw:retention}} (table_status_retention_hours in the settings, the
-- same time after which the status view drops an idle order). Without it the state
-- grows with every order ever placed. A Cloud Console workspace runs SET only
-- together with the statement it configures: paste both into one cell.
SET 'sql.state-ttl' = {{string:ttl}}
