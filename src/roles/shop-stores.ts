import { join } from 'node:path';
import type { Logger } from 'pino';
import { DeliveryStore } from '../adapters/sqlite/delivery-store.js';
import { OrderLogStore } from '../adapters/sqlite/order-log-store.js';
import { OrdersStore } from '../adapters/sqlite/orders-store.js';
import { SessionStore } from '../adapters/sqlite/session-store.js';
import { type SqliteFile, SqliteFiles } from '../adapters/sqlite/sqlite-file.js';
import type { Settings } from '../config/settings.js';

/**
 * The stores of one process, each file opened once (on first use, so a
 * process of bake alone makes no database) and shared by every role that
 * writes it: in `pizza all` the web app's placements, the view, the log copy
 * and the sessions all write orders.db through one connection and one
 * transaction per turn. Made where the roles are wired, closed there after
 * they have stopped; the roles never open or close a file themselves.
 */
export class ShopStores {
  private readonly files = new SqliteFiles();
  private made: {
    orders?: OrdersStore;
    orderLogs?: OrderLogStore;
    sessions?: SessionStore;
    delivery?: DeliveryStore;
  } = {};

  /** `log`: where a file says that it is full, and that it has room again. */
  constructor(
    private readonly settings: Settings,
    private readonly log?: Logger,
  ) {}

  /** The web host's file: the orders view, its copy of the roles' lines, logouts (and read positions). */
  ordersFile(): SqliteFile {
    return this.files.open(join(this.settings.shop.dataDir, this.settings.orders.fileName), {
      maxSizeMb: this.settings.orders.maxSizeMb || undefined,
      capSetting: '[state-store-orders] max_size_mb',
      log: this.log,
    });
  }

  /** Deliver's memory of the orders it holds. */
  deliveryFile(): SqliteFile {
    return this.files.open(join(this.settings.shop.dataDir, this.settings.delivery.fileName), {
      maxSizeMb: this.settings.delivery.maxSizeMb || undefined,
      capSetting: '[state-store-delivery] max_size_mb',
      log: this.log,
    });
  }

  /** Why some file takes no writes (it is full), for the readiness probe; undefined when all do. */
  notReady(): string | undefined {
    return this.files.notReady();
  }

  orders(): OrdersStore {
    this.made.orders ??= new OrdersStore(this.ordersFile());
    return this.made.orders;
  }

  orderLogs(): OrderLogStore {
    this.made.orderLogs ??= new OrderLogStore(this.ordersFile());
    return this.made.orderLogs;
  }

  sessions(): SessionStore {
    this.made.sessions ??= new SessionStore(this.ordersFile());
    return this.made.sessions;
  }

  delivery(): DeliveryStore {
    this.made.delivery ??= new DeliveryStore(this.deliveryFile());
    return this.made.delivery;
  }

  /** Commits each file's last turn and closes it. Idempotent; stores asked for later open the files again. */
  close(): void {
    this.made = {};
    this.files.close();
  }
}
