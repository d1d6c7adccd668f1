import type { IAuthenticateGeneric, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * "Secure Proxy API": where the secure proxy is and the proxy token, the one secret n8n
 * holds. n8n applies it as `Authorization: Bearer <token>` (the header n8n redacts in error
 * contexts and logs). Only the Secure Proxy Request node may use it, so the token cannot be
 * sent to another host from a generic HTTP Request node; the dialog says so.
 *
 * The "Test" button is the node's `methods.credentialTest.secureProxyApiTest` (referenced by
 * `testedBy`): it calls the proxy's `GET /v1/whoami` and names the client the token belongs to.
 */
export class SecureProxyApi implements ICredentialType {
  name = 'secureProxyApi';

  displayName = 'Secure Proxy API';

  icon: Icon = { light: 'file:../nodes/SecureProxyRequest/secureProxy.svg', dark: 'file:../nodes/SecureProxyRequest/secureProxy.dark.svg' };

  documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-secure-proxy';

  restrictToSupportedNodes = true as const;

  supportedNodes = ['secureProxyRequest'];

  /**
   * n8n adds "Allowed HTTP Request Domains" (default "All") to every credential with an
   * `authenticate` block, for the HTTP Request and GraphQL nodes. This credential never works
   * there (`restrictToSupportedNodes`), and "All" reads as if the token could go anywhere: the
   * field is hidden and preset below to "None", the strictest value, as n8n's own Slack Manager
   * credential does.
   */
  hideDomainRestrictionFields = true;

  properties: INodeProperties[] = [
    {
      displayName:
        'This credential works only in the Secure Proxy Request node, which sends requests to this proxy and nowhere else. The proxy adds the API credentials from Vault; n8n holds only the proxy token.',
      name: 'usageNotice',
      type: 'notice',
      default: '',
    },
    {
      displayName: 'Proxy URL',
      name: 'url',
      type: 'string',
      default: '',
      required: true,
      placeholder: 'e.g. https://secure-proxy.internal:8080',
      description: 'Base URL of the secure proxy, without a path below it',
    },
    {
      displayName: 'Proxy Token',
      name: 'token',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      required: true,
      placeholder: 'spt_…',
      description: 'Proxy token issued by the proxy admin (secure-proxy token generate). It is the only secret n8n holds; the API secrets stay in Vault.',
    },
    {
      displayName: 'CA Certificate',
      name: 'caCertificate',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      placeholder: '-----BEGIN CERTIFICATE-----',
      description: "PEM certificate(s) of the CA that signed the proxy's TLS certificate, when it is not publicly trusted. Leave empty to use the system CAs.",
    },
    {
      displayName: 'Ignore SSL Issues (Insecure)',
      name: 'ignoreSSLIssues',
      type: 'boolean',
      default: false,
      description:
        "Whether to connect even if the proxy's TLS certificate cannot be verified. For labs only: anyone on the network path could read the proxy token.",
    },
    {
      // n8n's own field (see hideDomainRestrictionFields), kept at its strictest value: n8n's
      // HTTP Request and GraphQL nodes refuse the credential even where they could pick it.
      displayName: 'Allowed HTTP Request Domains',
      name: 'allowedHttpRequestDomains',
      type: 'hidden',
      default: 'none',
    },
  ];

  authenticate: IAuthenticateGeneric = {
    type: 'generic',
    properties: {
      headers: {
        Authorization: '=Bearer {{$credentials.token}}',
      },
    },
  };
}
