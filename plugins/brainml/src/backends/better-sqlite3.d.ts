/** The part of better-sqlite3's API BrainML uses (the package ships no types; @types is not installed). */
declare module "better-sqlite3" {
  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }
  interface Statement {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): Record<string, unknown> | undefined;
    all(...params: unknown[]): Record<string, unknown>[];
    iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>;
  }
  interface BetterDatabase {
    prepare(sql: string): Statement;
    exec(sql: string): BetterDatabase;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    transaction<F extends (...args: any[]) => any>(fn: F): F;
    loadExtension(file: string, entrypoint?: string): void;
    close(): BetterDatabase;
    readonly open: boolean;
  }
  interface DatabaseConstructor {
    new (filename: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }): BetterDatabase;
  }
  const Database: DatabaseConstructor;
  namespace Database {
    type Database = BetterDatabase;
  }
  export default Database;
}
