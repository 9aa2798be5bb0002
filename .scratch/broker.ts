import { writeFileSync } from 'node:fs';
import { startKafkaBroker } from '../tools/kafka/broker.js';
const b = await startKafkaBroker({ log: () => {} });
writeFileSync('/tmp/exp/bootstrap', b.bootstrapServers);
console.log('ready', b.bootstrapServers);
process.on('SIGTERM', async () => { await b.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
