import { registerClient } from '../../src/config/clients.js';
/**
 * A second kosmo-idp process for test/http/backchannel-kill.test.ts: on the test's database, with the
 * test portal's back channel at RECEIVER_URL, it runs `member reset-mfa` for USER_ID (a change that
 * queues a logout token in its transaction), says "committed", and delivers as any server process
 * does, until the test kills it.
 */
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createIdp } from '../../src/idp.js';
import { openOrm } from '../../src/db/orm.js';
import { withSociety } from '../../src/db/society.js';
import { resetMemberMfa } from '../../src/admin/member-reset-mfa.js';

const { DATABASE_URL, ISSUER_ROOT, RECEIVER_URL, USER_ID, CLIENT_ID, CLIENT_SECRET } = process.env;
const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', BCRYPT_COST: '4' });
config.society.issuer = ISSUER_ROOT!;
config.issuer = ISSUER_ROOT!;
config.clients.push(
  registerClient({
    client_id: CLIENT_ID!,
    client_secret: CLIENT_SECRET,
    redirect_uris: ['http://localhost:3999/callback'],
    post_logout_redirect_uris: [],
    scope: 'openid',
    backchannel_logout_uri: RECEIVER_URL!,
    backchannel_logout_session_required: true,
  }),
);
const orm = await openOrm(DATABASE_URL!, 2);
const idp = await createIdp(config, createLogger('silent'), orm, { backchannelPolicy: { pollSeconds: 0.2, leaseSeconds: 3 } });
idp.backchannel.start();
await withSociety(config.society.id, () => resetMemberMfa({ sql: idp.sql, config }, { userId: USER_ID! }));
process.stdout.write('committed\n');
