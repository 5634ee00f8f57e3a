// The demo IdP (a real oidc-provider) on loopback, for the peers that sign users in themselves (Apache +
// mod_auth_openidc). Its own process, so it answers while the benchmark waits on wrk. Usage: node demo-idp.mjs PORT,
// with the one client in the environment: IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URI. Prints `ready ISSUER`.
import { startDemoIdp } from '@vallum/testing';

const { IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URI } = process.env;
const idp = await startDemoIdp({
  port: Number(process.argv[2]),
  clients: [{ client_id: IDP_CLIENT_ID, client_secret: IDP_CLIENT_SECRET, redirect_uris: [IDP_REDIRECT_URI] }],
});
process.on('SIGTERM', () => process.exit(0));
console.log(`ready ${idp.issuer}`);
