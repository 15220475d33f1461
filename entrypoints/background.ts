import { startExtensionHost } from '@/worker/extension-host';

export default defineBackground(() => startExtensionHost());
