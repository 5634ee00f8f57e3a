// vallum.yaml texts shared by this service's tests. Line numbers matter: tests assert file:line:col.
const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://127.0.0.1:9000
  client_id: vallum
  client_secret: vallum-secret
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
`;

export const CONFIG = `${BASE}routes:
  - name: wiki
    from: http://wiki.localhost:8000
    to: http://127.0.0.1:9001
    policy:
      allow:
        or:
          - groups: { has: engineering }
          - email: { is: alice@example.com }
      deny:
        or:
          - groups: { has: contractors }
  - name: status
    from: http://status.localhost:8000
    to: http://127.0.0.1:9002
    allow_public_unauthenticated_access: true
  - name: chat
    from: http://chat.localhost:8000
    to: http://127.0.0.1:9003
    allow_any_authenticated_user: true
    policy:
      deny:
        or:
          - domain: { is: partner.example }
`;

export const MISSPELT = `${BASE}routes:
  - name: wiki
    from: http://wiki.localhost:8000
    to: http://127.0.0.1:9001
    policy:
      allow:
        or:
          - groups: { has: engineering }
          - emial: { is: alice@example.com }
`;
