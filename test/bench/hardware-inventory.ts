/**
 * A generated hardware inventory of realistic shape, for the bench and the scale test: `groups` exporter
 * groups (one per site) of `serversPerGroup` servers, each with a BMC host name and four labels.
 */
import type { ValuesInput } from '../../charts/values.ts';

const MODELS = ['PowerEdge R650', 'PowerEdge R760', 'ProLiant DL380 Gen10'] as const;

/** Values with `groups` × `serversPerGroup` servers, 20 per rack. */
export function hardwareInventory(groups: number, serversPerGroup: number): ValuesInput {
  return {
    redfish: {
      groups: Array.from({ length: groups }, (_, g) => {
        const site = `dc${g + 1}`;
        return {
          name: site,
          nodeSelector: { 'sightline.io/bmc-network': site },
          configSecret: { name: `redfish-${site}` },
          servers: Array.from({ length: serversPerGroup }, (_, i) => {
            const rack = `r${String(Math.floor(i / 20) + 1).padStart(2, '0')}`;
            const name = `${site}-${rack}-s${String((i % 20) + 1).padStart(2, '0')}`;
            return {
              name,
              bmc: `bmc-${name}.mgmt.example.net`,
              labels: { site, rack, model: MODELS[i % MODELS.length]!, node: `${name}.example.net` },
            };
          }),
        };
      }),
    },
  };
}
