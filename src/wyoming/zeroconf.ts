/**
 * Zeroconf (mDNS / DNS-SD) for a Wyoming server, so Home Assistant discovers it: the service type
 * `_wyoming._tcp`, an instance name and the port, as the reference servers advertise. One TXT entry
 * (Home Assistant reads none): with an empty TXT record, ciao took its own announcement, looped back
 * on a second interface, for a conflicting record and probed again instead of announcing (seen here).
 * Done by @homebridge/ciao (an RFC 6762/6763 responder: probing, name conflicts resolved by
 * renaming, goodbye packets when a service ends). No Node-RED imports.
 */
import { getResponder, type CiaoService, type Responder } from '@homebridge/ciao';

export const SERVICE_TYPE = 'wyoming';

export interface Advertised {
  /** The name it is advertised under (ciao renames it, "AllTalk (2)", when the name is taken). */
  readonly name: string;
  /** Withdraws it (goodbye packets) and lets go of the responder. */
  end(): Promise<void>;
}

export interface AdvertiseOptions {
  name: string;
  port: number;
  /** The address the server listens on: a specific one is the only one advertised; 0.0.0.0 advertises every IPv4 address. */
  host: string;
  /** Told when the advertised name changes, or advertising fails. */
  onNote?: (text: string) => void;
}

/** Advertises a Wyoming server; resolves once it is announced on the network. */
export async function advertise(options: AdvertiseOptions): Promise<Advertised> {
  const specific = options.host && options.host !== '0.0.0.0' && options.host !== '::';
  // Bound to one address: advertised on its network only (the responder listens there only).
  const responder: Responder = getResponder(specific ? { interface: options.host, disableIpv6: true } : { disableIpv6: true });
  const service: CiaoService = responder.createService({
    name: options.name,
    type: SERVICE_TYPE,
    port: options.port,
    txt: { server: 'AllTalk' },
    disabledIpv6: true,
    ...(specific ? { restrictedAddresses: [options.host] } : {}),
  });
  let name = options.name;
  service.on('name-change', (changed: string) => {
    name = changed;
    options.onNote?.(`The zeroconf name "${options.name}" is taken on the network: advertised as "${changed}".`);
  });
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    try {
      await service.end();
      await service.destroy();
    } finally {
      await responder.shutdown().catch(() => undefined);
    }
  };
  try {
    await service.advertise();
  } catch (err) {
    await end().catch(() => undefined);
    throw err;
  }
  return {
    get name() {
      return name;
    },
    end,
  };
}
