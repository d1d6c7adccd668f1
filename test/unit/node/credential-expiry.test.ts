import { describeWhoami } from '../../../nodes/SecureProxyRequest/methods/credential-test';

const whoami = { clientId: 'n8n-prod', tokenId: 'abc', expiresAt: '2030-01-01T00:00:00.000Z', services: ['github'] };
const connected = 'Connected as client "n8n-prod" (services: github; token expires 2030-01-01T00:00:00.000Z)';

describe('credential test message and the token expiry window', () => {
  it.each([
    [3 * 86_400 + 7_200, '3 days'],
    [86_400, '1 day'],
    [5 * 3_600 + 59, '5 hours'],
    [3_600, '1 hour'],
    [59 * 60, 'less than an hour'],
  ])('warns when the proxy flags the token as expiring soon (%i s left: %s)', (seconds, left) => {
    expect(describeWhoami({ ...whoami, expiresInSeconds: seconds, expiringSoon: true })).toBe(
      `${connected}. Warning: the proxy token expires in ${left}; ask the proxy admin to rotate it (secure-proxy token rotate --client n8n-prod) and put the new token into this credential`,
    );
  });

  it('does not warn outside the window, or when an older proxy does not say', () => {
    expect(describeWhoami({ ...whoami, expiresInSeconds: 30 * 86_400, expiringSoon: false })).toBe(connected);
    expect(describeWhoami(whoami)).toBe(connected);
    expect(describeWhoami({ ...whoami, expiringSoon: true })).toBe(connected);
  });
});
