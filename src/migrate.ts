/**
 * `npm run migrate` / the Procfile's release phase: brings the database schema up to date and exits.
 * Only DATABASE_URL is needed, so a release phase cannot fail on unrelated settings.
 */
import { KyselyStore } from "./adapters/store/kysely-store.js";
import { ConfigError, parseDatabaseUrl } from "./config.js";

async function migrate(): Promise<void> {
  const database = parseDatabaseUrl(process.env.DATABASE_URL || undefined);
  if (typeof database === "string") throw new ConfigError([database]);
  const store = KyselyStore.connect(database);
  try {
    const applied = await store.migrate();
    process.stdout.write(
      applied.length > 0 ? `applied migrations: ${applied.join(", ")}\n` : "database schema is up to date\n",
    );
  } finally {
    await store.close();
  }
}

migrate().catch((error: unknown) => {
  const message =
    error instanceof ConfigError ? error.problems.join("\n") : error instanceof Error ? error.message : String(error);
  process.stderr.write(`migration failed: ${message}\n`);
  process.exit(1);
});
