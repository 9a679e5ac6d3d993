import { openDatabase } from '../../src/idp.js';

/** Applies every migration to the test template database as its owner, and grants the application role (owner URL, application URL). */
const orm = await openDatabase({ ownerUrl: process.argv[2]!, appUrl: process.argv[3]! });
await orm.close();
