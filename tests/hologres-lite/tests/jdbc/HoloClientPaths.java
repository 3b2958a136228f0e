// What holo-client does on a connection, through pgjdbc as holo-client sends it: the
// session settings of ConnectionHolder.buildConnection, hg_version(), the unnest upsert of
// UnnestUpsertStatementBuilder, the OR-of-keys delete of UpsertStatementBuilder, and Fixed
// Copy through CopyManager (a COPY sent as a simple query, rows in the binary format of
// RecordBinaryOutputStream). Prints one line per check; exits 1 on the first that fails.
//
//   java -cp postgresql.jar:. HoloClientPaths JDBC_URL

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class HoloClientPaths {
    static void check(boolean ok, String what) {
        System.out.println((ok ? "ok " : "FAILED ") + what);
        if (!ok) System.exit(1);
    }

    static long scalar(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        }
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            c.setAutoCommit(true);
            try (Statement s = c.createStatement()) {
                for (String set : new String[] {
                        "set hg_experimental_enable_fixed_dispatcher = on",
                        "set hg_experimental_enable_fixed_dispatcher_for_multi_values = on",
                        "set hg_experimental_enable_fixed_dispatcher_for_update = on",
                        "set hg_experimental_enable_fixed_dispatcher_for_delete = on",
                        "set hg_experimental_enable_fixed_dispatcher_for_scan = on",
                        "set hg_experimental_enable_fixed_dispatcher_affected_rows = off"}) {
                    s.execute(set);
                }
                try (ResultSet r = s.executeQuery("select hg_version()")) {
                    r.next();
                    check(r.getString(1).startsWith("Hologres "), "hg_version(): " + r.getString(1));
                }
                s.execute("drop schema if exists jdbc_paths cascade");
                s.execute("create schema jdbc_paths");
                s.execute("begin; create table jdbc_paths.t (id int8 not null, v text, primary key (id)); "
                        + "call set_table_property('jdbc_paths.t', 'orientation', 'column'); commit;");
            }
            String upsert = "insert into jdbc_paths.t (\"id\",\"v\") select unnest(?::int8[]),unnest(?::text[]) "
                    + "on conflict (\"id\") do update set \"v\"=excluded.\"v\"";
            try (PreparedStatement p = c.prepareStatement(upsert)) {
                Array ids = c.createArrayOf("int8", new Long[] {1L, 2L, 3L});
                Array vs = c.createArrayOf("text", new String[] {"a", "b", "c"});
                p.setArray(1, ids);
                p.setArray(2, vs);
                int n = p.executeUpdate();
                check(n == 0, "unnest upsert applied, its count 0 with affected rows off (got " + n + ")");
            }
            check(scalar(c, "select count(*) from jdbc_paths.t") == 3, "3 rows after the unnest upsert");
            try (PreparedStatement p = c.prepareStatement(
                    "delete from jdbc_paths.t where (\"id\"=?) or (\"id\"=?)")) {
                p.setLong(1, 2);
                p.setLong(2, 9);
                p.executeUpdate();
            }
            check(scalar(c, "select count(*) from jdbc_paths.t") == 2, "the OR-of-keys delete");

            // Fixed Copy, as CopyUtil.buildCopyInSql writes it, rows in binary.
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeBytes("PGCOPY\n");
            out.write(new byte[] {(byte) 0xff, '\r', '\n', 0});
            out.writeInt(0);
            out.writeInt(0);
            long[] ids = {1, 4, 4};
            String[] vs = {"one", "four", "FOUR"};
            for (int i = 0; i < ids.length; i++) {
                out.writeShort(2);
                out.writeInt(8);
                out.writeLong(ids[i]);
                byte[] v = vs[i].getBytes(StandardCharsets.UTF_8);
                out.writeInt(v.length);
                out.write(v);
            }
            out.writeShort(-1);
            CopyManager copy = ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI();
            copy.copyIn("copy jdbc_paths.t(\"id\",\"v\") from stdin with(stream_mode true, format binary, on_conflict update)",
                    new java.io.ByteArrayInputStream(bytes.toByteArray()));
            try (Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("select string_agg(id || '=' || v, ',' order by id) from jdbc_paths.t")) {
                r.next();
                check("1=one,3=c,4=FOUR".equals(r.getString(1)), "Fixed Copy through CopyManager, on_conflict update: " + r.getString(1));
            }

            // A JDBC transaction: Hologres commits each statement on its own unless DML
            // transactions are on (from 2.0), so the rollback keeps the row.
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("insert into jdbc_paths.t values (7, 'seven')");
            }
            c.rollback();
            c.setAutoCommit(true);
            check(scalar(c, "select count(*) from jdbc_paths.t where id = 7") == 1,
                    "a DML statement inside a JDBC transaction committed on its own");
        }
    }
}
