/**
 * Whether the user is looking at this tab: visible and focused. Reported to the hub, which shows an
 * alert banner in that tab only (a person sees one banner, not one per open tab).
 */
export function watchDocumentFocus(report: (focused: boolean) => void): () => void {
  const check = (): void => report(document.visibilityState === 'visible' && document.hasFocus());
  window.addEventListener('focus', check);
  window.addEventListener('blur', check);
  document.addEventListener('visibilitychange', check);
  check();
  return () => {
    window.removeEventListener('focus', check);
    window.removeEventListener('blur', check);
    document.removeEventListener('visibilitychange', check);
  };
}
