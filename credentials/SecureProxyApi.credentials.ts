import type { IAuthenticateGeneric, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * "Secure Proxy API": where the secure proxy is and the proxy token, the one secret n8n
 * holds. n8n applies it as `Authorization: Bearer <token>` (the header n8n redacts in error
 * contexts and logs). Only the Secure Proxy Request node may use it, so the token cannot be
 * sent to another host from a generic HTTP Request node.
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

  properties: INodeProperties[] = [
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
