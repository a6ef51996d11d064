import ConcordStore
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'no; never'; END;
            $$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT "odd;name" FROM a
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("CREATE TABLE a (x text DEFAULT 'a;b')"))
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never'; END;\n$$"))
        #expect(statements[2] == "DO $body$ BEGIN PERFORM 1; END $body$")
        #expect(statements[3] == "SELECT \"odd;name\" FROM a")
    }

    @Test func bundledMigrationsAreNumberedInOrder() throws {
        let migrations = try Migration.bundled()
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(migrations.first?.name == "0001_event_log")
    }
}
