import { render } from 'preact';
import { DashboardApp } from './DashboardApp';
import '@/components/styles.css';
import './dashboard.css';

render(<DashboardApp />, document.getElementById('app')!);
