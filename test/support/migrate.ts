import { openDatabase } from '../../src/idp.js';

/** Applies every migration to the database URL given (the test template database). */
const orm = await openDatabase(process.argv[2]!);
await orm.close();
