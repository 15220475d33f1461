import { render } from 'preact';
import { OverlayApp } from './OverlayApp';
import '@/components/styles.css';
import './overlay.css';

render(<OverlayApp id={new URLSearchParams(location.search).get('id')} />, document.getElementById('app')!);
