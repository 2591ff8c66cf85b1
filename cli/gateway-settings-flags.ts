// The agent's gateway-wide inputs, shared by `portico sync` and `portico local`: ingress-nginx's controller
// ConfigMap and its --default-backend-service and --default-ssl-certificate flags (sync/compile/gateway-settings.ts).
import { objectRefFlag } from './args.ts';

export const GATEWAY_SETTINGS_FLAGS = {
  'nginx-configmap': { type: 'string' },
  'default-backend-service': { type: 'string' },
  'default-ssl-certificate': { type: 'string' },
} as const;

export const GATEWAY_SETTINGS_USAGE = '[--nginx-configmap NS/NAME] [--default-backend-service NS/NAME] [--default-ssl-certificate NS/NAME]';

export interface GatewaySettingsFlags {
  nginxConfigMap?: string;
  defaultBackendService?: string;
  defaultSslCertificate?: string;
}

export function parseGatewaySettingsFlags(v: {
  'nginx-configmap'?: string;
  'default-backend-service'?: string;
  'default-ssl-certificate'?: string;
}): GatewaySettingsFlags {
  return {
    ...(v['nginx-configmap'] === undefined ? {} : { nginxConfigMap: objectRefFlag('nginx-configmap', v['nginx-configmap']) }),
    ...(v['default-backend-service'] === undefined
      ? {}
      : { defaultBackendService: objectRefFlag('default-backend-service', v['default-backend-service']) }),
    ...(v['default-ssl-certificate'] === undefined
      ? {}
      : { defaultSslCertificate: objectRefFlag('default-ssl-certificate', v['default-ssl-certificate']) }),
  };
}
