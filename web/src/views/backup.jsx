// backup.jsx — the Backup and restore view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Backup and restore">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
