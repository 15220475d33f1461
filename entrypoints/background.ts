import { startExtensionHost } from '@/worker/hosts/extension/host';

export default defineBackground(() => startExtensionHost());
