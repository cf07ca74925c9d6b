// audit.jsx — the Audit log view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Audit log">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
